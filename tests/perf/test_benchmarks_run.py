"""Every benchmark script still runs (quick mode, tiny sizes) and prints its figures.

Not a timing test: benchmarks measure (benchmarks/run_all.py, `make bench`); this only
checks that each script runs to the end and reports what docs/PERFORMANCE.md is made of.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.run_all import BENCHMARKS

SCRIPTS = sorted({(script, tuple(args)) for script, args, _ in BENCHMARKS})


@pytest.mark.parametrize(("script", "args"), SCRIPTS, ids=[" ".join([s, *a]) for s, a in SCRIPTS])
def test_benchmark_runs_in_quick_mode_and_prints_its_figures(script, args) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen",
               TC_BENCH_QUICK="1")
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = [json.loads(line[len("FIGURE "):]) for line in done.stdout.splitlines()
               if line.startswith("FIGURE ")]
    assert figures, done.stdout[-2000:]
    for figure in figures:
        assert figure["values"] and all(v >= 0 for v in figure["values"]), figure
        assert figure["unit"] in ("ms", "s", "ratio")


def test_table_rows_give_median_spread_and_verdict() -> None:
    from benchmarks.run_all import pooled, row

    figures = pooled([{"name": "stall", "values": [10.0, 30.0], "unit": "ms", "target": 16,
                       "note": ""},
                      {"name": "stall", "values": [12.0], "unit": "ms", "target": 16,
                       "note": "max 40 ms"}])
    assert row(figures[0]) == ("| stall (max 40 ms) | 12.0 ms | 10.0–30.0 | 3 | ≤ 16 ms "
                               "| met |")
    ratio = row({"name": "r", "values": [1.02], "unit": "ratio", "target": 1.01, "note": ""})
    assert ratio.endswith("| 1.020 | 1.020–1.020 | 1 | ≤ 1.01 | **not met** |")
