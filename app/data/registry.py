"""The data sources by id: titles and parameters, without torch, torchvision or sklearn.

Each source module names its loaders' libraries lazily, so listing the sources and
checking a project's data section (`python -m app check`) import none of them; loading
the data (app.data.sources) does.
"""

from __future__ import annotations

from app.data import builtin, colour_shapes, csv_table, synthetic, vision
from app.data.source_spec import SourceSpec

SOURCES: dict[str, SourceSpec] = {
    spec.id: spec
    for spec in (*builtin.SPECS, *colour_shapes.SPECS, *synthetic.SPECS, *vision.SPECS,
                 *csv_table.SPECS)
}


def source_ids() -> list[str]:
    """Registry ids in display order."""
    return list(SOURCES)
