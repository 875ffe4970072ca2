"""Regenerate the example projects: `python resources/examples/generate.py`.

One project per built-in template, with the template's default dataset. A test checks
that the committed files equal what this script writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.core.project import Project, to_json
from app.core.templates import TEMPLATES, Template

FOLDER = Path(__file__).resolve().parent


def example_project(template: Template) -> Project:
    return template.project()


def example_files() -> dict[Path, str]:
    return {FOLDER / f"{t.id}.json": to_json(example_project(t)) for t in TEMPLATES.values()}


def main() -> None:
    for path, text in example_files().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.name}")


if __name__ == "__main__":
    main()
