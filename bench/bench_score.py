"""Scoring speed and peak memory per type on a generated day (default 1M flows): Spot's LDA,
every detector and the triage list (`<type>_threats`), then one page of the threats API.

Run: .venv-bench/bin/python bench/bench_score.py [--flows 1000000] [--history 0] [--keep DIR]
Generates the day (flow + matching DNS and proxy) with spot_lab.demo.generator into a temp lake
(or reuses --keep DIR; keep it outside the repository), with --history earlier days of the same
size (which first-seen, volume, scheduled transfers and the beacon window read), then scores each type in a fresh
subprocess (so peak RSS is that run's own), and prints a markdown table: events, seconds,
events/s, peak RSS, the detectors' share; then the median time of one page (50 threats) of
the threats API per type. Targets (issue 13, 10M flows): LDA and all detectors < 180 s in
total on 2 cores, peak < 3 GB per type; one page < 200 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
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
usage = resource.getrusage(resource.RUSAGE_SELF)
peak, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
threats = result.threats.num_rows if result.threats is not None else 0
print(json.dumps({{"events": result.events, "seconds": result.seconds, "peak_mb": peak,
                  "documents": result.documents, "words": result.words, "threats": threats, "cpu": cpu,
                  "timings": result.timings}}))
"""

PAGE = """
import json, statistics, sys, time
sys.path.insert(0, {root!r})
from spot_lab.config import load_settings
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.server.threats import threats_page
from spot_lab.dates import parse_date
engine, settings, day = DuckDBEngine({lake!r}), load_settings(), parse_date({day!r})
out = {{}}
for data_type in ("flow", "dns", "proxy"):
    threats_page(engine, data_type, day, 1, 50, "", settings)  # the server's warm-up
    times = []
    for page in (1, 2, 3, 1, 2, 3, 1):
        started = time.perf_counter()
        threats_page(engine, data_type, day, page, 50, "", settings)
        times.append(time.perf_counter() - started)
    out[data_type] = statistics.median(times)
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=1_000_000)
    parser.add_argument("--keep", help="reuse/keep the generated lake in this folder")
    parser.add_argument("--types", default="flow,dns,proxy", help="types to score (default all)")
    parser.add_argument("--history", type=int, default=0, help="earlier days generated")
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

        first = dt.date.fromisoformat(DAY) - dt.timedelta(days=args.history)
        started = time.perf_counter()
        generate(lake, first, days=args.history + 1, flows_per_day=args.flows, seed=5, force=True,
                 progress=False)  # fmt: skip
        print(f"generated {args.history + 1} day(s) of {args.flows:,} flows in "
              f"{time.perf_counter() - started:.0f} s\n")  # fmt: skip
    print(f"machine load before: {os.getloadavg()[0]:.2f} (1 min)")
    print(
        "| type | events | documents | words | threats | seconds | CPU s | detectors (s) "
        "| events/s | peak RSS (MB) | steps (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    total = cpu = 0.0
    for data_type in args.types.split(","):
        code = CHILD.format(root=str(ROOT), lake=str(lake), data_type=data_type, day=DAY)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if out.returncode:
            print(f"| {data_type} | failed: {out.stderr.strip().splitlines()[-1]} |")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        steps = ", ".join(f"{k} {v:.1f}" for k, v in r["timings"].items())
        detectors = sum(v for k, v in r["timings"].items() if k.startswith("detector"))
        total, cpu = total + r["seconds"], cpu + r["cpu"]
        print(f"| {data_type} | {r['events']:,} | {r['documents']:,} | {r['words']:,} "
              f"| {r['threats']:,} | {r['seconds']:.1f} | {r['cpu']:.1f} | {detectors:.1f} "
              f"| {r['events'] / r['seconds']:,.0f} | {r['peak_mb']:,.0f} | {steps} |")  # fmt: skip
    print(
        f"\nall three types: {total:.1f} s wall, {cpu:.1f} s CPU; machine load after: "
        f"{os.getloadavg()[0]:.2f}"
    )
    code = PAGE.format(root=str(ROOT), lake=str(lake), day=DAY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode:
        print(f"threats API page: failed: {out.stderr.strip().splitlines()[-1]}")
    else:
        pages = json.loads(out.stdout.strip().splitlines()[-1])
        print("threats API, one page of 50 (median of 7): "
              + ", ".join(f"{t} {1000 * v:.0f} ms" for t, v in pages.items()))  # fmt: skip
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
