"""`make bench`: run every benchmark, one at a time, and write the table in docs/PERFORMANCE.md.

    python benchmarks/run_all.py [--quick] [--only NAME ...] [--out docs/PERFORMANCE.md]

Each script prints `FIGURE {json}` lines (benchmarks/report.py); figures of the same name
from repeated runs are pooled. The table between
the BENCH markers of the output file is replaced: machine, date, each figure's median,
spread (min-max), repeats, target and verdict; text outside the markers (notes, profiles)
is kept. `--quick` (TC_BENCH_QUICK=1) uses tiny sizes and writes nothing: CI's check that
every script still runs. On a shared machine, hold the machine's CPU lock around it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- BENCH:START (benchmarks/run_all.py) -->", "<!-- BENCH:END -->"
# (script, arguments, runs): the GUI-stall script runs each repeat in a fresh process.
BENCHMARKS = [
    ("cli_time.py", [], 1),
    ("shape_inference.py", [], 1),
    ("launch_time.py", ["--offscreen", "--runs", "3"], 1),
    ("canvas_responsiveness.py", [], 1),
    ("editing_responsiveness.py", [], 1),
    ("gui_stall.py", ["--offscreen", "--repeats", "5"], 1),
    ("gui_stall.py", ["--offscreen", "--load", "--repeats", "5"], 1),
    ("train_overhead.py", ["--repeats", "5"], 1),
    ("augment_overhead.py", ["--repeats", "5"], 1),
]


def run(script: str, args: list[str], quick: bool) -> tuple[list[dict], str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    if quick:
        env["TC_BENCH_QUICK"] = "1"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800,
                          check=False)
    if done.returncode:
        raise SystemExit(f"{script} failed ({done.returncode}): {done.stderr[-2000:]}")
    figures = [json.loads(line[len("FIGURE "):]) for line in done.stdout.splitlines()
               if line.startswith("FIGURE ")]
    return figures, done.stdout


def pooled(figures: list[dict]) -> list[dict]:
    out: dict[str, dict] = {}
    for f in figures:
        if f["name"] in out:
            out[f["name"]]["values"] += f["values"]
            out[f["name"]]["note"] = "; ".join(filter(None, (out[f["name"]]["note"], f["note"])))
        else:
            out[f["name"]] = dict(f)
    return list(out.values())


def row(f: dict) -> str:
    values, unit, target = f["values"], f["unit"], f["target"]
    median = statistics.median(values)
    digits = 3 if unit in ("ratio", "s") else 1
    spread = f"{min(values):.{digits}f}–{max(values):.{digits}f}"
    shown = f"{median:.{digits}f}" + ("" if unit == "ratio" else f" {unit}")
    goal = "—" if target is None else ("≤ " + f"{target:g}" + ("" if unit == "ratio"
                                                               else f" {unit}"))
    verdict = "—" if target is None else ("met" if median <= target else "**not met**")
    note = f" ({f['note']})" if f["note"] else ""
    return f"| {f['name']}{note} | {shown} | {spread} | {len(values)} | {goal} | {verdict} |"


def table(figures: list[dict]) -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    machine = (f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC on "
               f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPU cores, "
               f"Python {platform.python_version()}, torch {torch.__version__}.")
    lines = [START, "", machine, "",
             "| figure | median | spread (min–max) | repeats | target | verdict |",
             "|---|---|---|---|---|---|", *map(row, figures), "", END]
    return "\n".join(lines)


def write(path: Path, text: str) -> None:
    old = path.read_text() if path.exists() else "# Performance\n\n" + START + "\n" + END + "\n"
    head, _, rest = old.partition(START)
    _, _, tail = rest.partition(END)
    path.write_text(head + text + tail)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", help="script names to run (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "PERFORMANCE.md")
    args = parser.parse_args()
    figures = []
    for script, script_args, runs in BENCHMARKS:
        if args.only and script not in args.only:
            continue
        for _ in range(1 if args.quick else runs):
            found, output = run(script, script_args, args.quick)
            print(f"== {script} {' '.join(script_args)}\n{output}", flush=True)
            figures += found
    figures = pooled(figures)
    print(table(figures))
    if not args.quick:
        write(args.out, table(figures))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
