"""The inspector's text when no layer is selected: the network at a glance."""

from __future__ import annotations

from app.core.catalogue import Role
from app.ui import theme
from app.ui.session import EditorSession


def overview_html(session: EditorSession, title: str) -> str:
    from app.core.shapes import format_shape

    t = theme.current()
    doc, results = session.doc, session.results
    inputs, outputs = doc.ends(Role.INPUT), doc.ends(Role.OUTPUT)

    def shapes(names: list[str]) -> str:
        found = [format_shape(results[n].shape) for n in names
                 if n in results and results[n].ok and results[n].shape is not None]
        return ", ".join(found) or "–"

    errors = sum(p.severity == "error" and not p.step for p in session.problems)
    warnings = [p.message for p in session.problems if p.severity == "warning" and not p.step]
    steps = [p.message for p in session.problems if p.step]
    status = (f"<span style='color:{t.error}'>{errors} error(s): see Problems</span>" if errors
              else "".join(f"<span style='color:{t.accent}'>➜ {_escape(s)}</span><br>"
                           for s in steps[:3]) if steps else
              f"<span style='color:{t.ok}'>✔ every shape fits</span>")
    if warnings:
        status += "".join(f"<br><span style='color:{t.warning}'>⚠ {_escape(w)}</span>"
                          for w in warnings[:3])
    return (f"<p style='font-size:13pt; font-weight:600'>{_escape(title)}</p>"
            f"<table cellspacing='0' cellpadding='2'>"
            f"<tr><td style='color:{t.muted}'>Layers&nbsp;&nbsp;</td><td>{len(doc.nodes)}</td></tr>"
            f"<tr><td style='color:{t.muted}'>Wires</td><td>{len(doc.edges)}</td></tr>"
            f"<tr><td style='color:{t.muted}'>Input</td><td><b>{shapes(inputs)}</b></td></tr>"
            f"<tr><td style='color:{t.muted}'>Output</td><td><b>{shapes(outputs)}</b></td></tr>"
            f"</table><p>{status}</p>")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
