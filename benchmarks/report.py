"""What every benchmark prints for `make bench` (benchmarks/run_all.py) besides its own lines.

`figure(...)` prints one line `FIGURE {json}`: the figure's name, every repeat's value, the
unit, the target and whether lower is better. `QUICK` (environment TC_BENCH_QUICK=1) asks
for tiny sizes: CI checks that each script still runs, never how fast it is.
"""

from __future__ import annotations

import json
import os

QUICK = os.environ.get("TC_BENCH_QUICK") == "1"


def figure(name: str, values: list[float], unit: str, target: float | None,
           note: str = "") -> None:
    """One row of docs/PERFORMANCE.md; met when the median is at most `target`."""
    print("FIGURE " + json.dumps({"name": name, "values": [round(v, 4) for v in values],
                                  "unit": unit, "target": target, "note": note}), flush=True)
