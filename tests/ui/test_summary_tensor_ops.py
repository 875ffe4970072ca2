"""The Summary counts the MACs of attention written out of tensor ops (MatMul, Scale,
ScaledDotProductAttention, Stack) as `info` does."""

from __future__ import annotations

from app.core.graph import NetworkDocument


def _attention() -> NetworkDocument:
    doc = NetworkDocument()
    for name, shape in (("q", [2, 5, 4]), ("k", [2, 6, 4]), ("v", [2, 6, 3])):
        doc.add_node("Input", {"shape": shape}, name=name)
    doc.add_node("Transpose", {"dim0": -2, "dim1": -1}, name="kt")
    doc.connect("k", "out", "kt", "in")
    doc.add_node("MatMul", name="scores")
    doc.connect("q", "out", "scores", "a")
    doc.connect("kt", "out", "scores", "b")
    doc.add_node("Scale", {"factor": 2.0, "divide": True}, name="scaled")
    doc.connect("scores", "out", "scaled", "in")
    doc.add_node("ScaledDotProductAttention", name="attention")
    for port, source in (("query", "q"), ("key", "k"), ("value", "v")):
        doc.connect(source, "out", "attention", port)
    doc.add_node("Stack", {"dim": -1}, name="both")
    doc.connect("attention", "out", "both", "in1")
    doc.connect("attention", "out", "both", "in2")
    doc.add_node("Output", name="out1")
    doc.add_node("Output", name="out2")
    doc.chain("scaled", "out1")
    doc.chain("both", "out2")
    return doc


def test_summary_counts_the_new_tensor_ops(qtbot) -> None:
    from app.ui.panels.summary import SummaryPanel
    from app.ui.session import EditorSession

    session = EditorSession(_attention())
    session.infer_now()
    panel = SummaryPanel(session)
    qtbot.addWidget(panel)
    panel.refresh()
    table = panel.table
    rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    assert table.item(rows["scores"], 2).text() == "2×5×6"
    assert table.item(rows["both"], 2).text() == "2×5×3×2"
    # scores: 2 × 5 × 6 outputs of 4 products; attention adds 2 × 5 × 3 outputs of 6
    assert panel.totals["macs"] == 2 * 5 * 6 * 4 + 2 * (5 * 6 * 4 + 5 * 3 * 6)
    assert panel.totals["params"] == 0
