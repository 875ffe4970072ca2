"""Copy and paste of canvas selections as JSON on the system clipboard."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QMimeData

from app.core.catalogue import CATALOGUE
from app.core.graph import NetworkDocument

NODES_MIME = "application/x-torchcanvas-nodes"


def selection_payload(doc: NetworkDocument, names: list[str]) -> dict[str, Any]:
    """The selected nodes and the wires between them (wires leaving the selection are not
    copied: the pasted copy is a self-contained piece)."""
    chosen = set(names)
    data = doc.to_dict()
    return {
        "nodes": [n for n in data["nodes"] if n["name"] in chosen],
        "edges": [e for e in data["edges"] if e["src"] in chosen and e["dst"] in chosen],
    }


def to_mime(payload: dict[str, Any]) -> QMimeData:
    mime = QMimeData()
    text = json.dumps(payload)
    mime.setData(NODES_MIME, text.encode("utf-8"))
    mime.setText(text)
    return mime


def from_mime(mime: QMimeData | None) -> dict[str, Any] | None:
    """The payload, or None when the clipboard holds anything else (never raises)."""
    if mime is None or not mime.hasFormat(NODES_MIME):
        return None
    try:
        payload = json.loads(bytes(mime.data(NODES_MIME)).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("nodes"), list):
        return None
    nodes = [n for n in payload["nodes"] if isinstance(n, dict)
             and isinstance(n.get("name"), str) and n.get("type") in CATALOGUE]
    edges = [e for e in payload.get("edges", []) if isinstance(e, dict)
             and all(isinstance(e.get(k), str) for k in ("src", "src_port", "dst", "dst_port"))]
    return {"nodes": nodes, "edges": edges} if nodes else None
