"""Scoring speed and peak memory per type on a generated day (default 1M flows).

Run: .venv-bench/bin/python bench/bench_score.py [--flows 1000000] [--keep DIR]
Generates the day (flow + matching DNS and proxy) with spot_lab.demo.generator into a temp lake,
then scores each type in a fresh subprocess (so peak RSS is that run's own), and prints a
markdown table: events, seconds, events/s, peak RSS. Target for flow: < 60 s, < 2 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAY = "2026-11-28"

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.scoring import score_day
engine = DuckDBEngine({lake!r})
result = score_day(engine, {data_type!r}, {day!r}, progress=False)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"events": result.events, "seconds": result.seconds, "peak_mb": peak,
                  "documents": result.documents, "words": result.words,
                  "timings": result.timings}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=1_000_000)
    parser.add_argument("--keep", help="reuse/keep the generated lake in this folder")
    args = parser.parse_args()
    tmp = None
    if args.keep:
        lake = Path(args.keep)
    else:
        tmp = tempfile.TemporaryDirectory()
        lake = Path(tmp.name) / "lake"
    if not (lake / "ground_truth.json").is_file():
        sys.path.insert(0, str(ROOT))
        from spot_lab.demo.generator import generate

        started = time.perf_counter()
        generate(lake, DAY, flows_per_day=args.flows, seed=5, force=True, progress=False)
        print(f"generated {args.flows:,} flows in {time.perf_counter() - started:.0f} s\n")
    print("| type | events | documents | words | seconds | events/s | peak RSS (MB) | steps (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for data_type in ("flow", "dns", "proxy"):
        code = CHILD.format(root=str(ROOT), lake=str(lake), data_type=data_type, day=DAY)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if out.returncode:
            print(f"| {data_type} | failed: {out.stderr.strip().splitlines()[-1]} |")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        steps = ", ".join(f"{k} {v:.1f}" for k, v in r["timings"].items())
        print(f"| {data_type} | {r['events']:,} | {r['documents']:,} | {r['words']:,} "
              f"| {r['seconds']:.1f} | {r['events'] / r['seconds']:,.0f} | {r['peak_mb']:,.0f} "
              f"| {steps} |")  # fmt: skip
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
