"""Benchmark: `spot-lab generate` of one day at 200k and 1M flows (+ matching DNS and proxy).

Each size runs in a fresh child process, so its peak memory is the child's own ru_maxrss.
Target (issue 2): 1M flows plus the matching DNS and proxy day in under 60 s on 2 cores.

    .venv-bench/bin/python bench/bench_generate.py [--sizes 200000,1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 60.0
CHILD = """
import datetime as dt, json, sys
from spot_lab.demo.generator import generate
s = generate(sys.argv[1], dt.date(2026, 11, 28), flows_per_day=int(sys.argv[2]), seed=7,
             progress=False)
print(json.dumps({"rows": s.rows, "seconds": s.seconds}))
"""


def run(flows: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        began = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(Path(tmp) / "lake"), str(flows)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        out = child.stdout.read()
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise SystemExit(f"generation of {flows:,} flows failed (exit {child.returncode})")
        result = json.loads(out)
        size = sum(p.stat().st_size for p in (Path(tmp) / "lake").rglob("*.parquet"))
    return {**result, "wall": wall, "peak_mb": usage.ru_maxrss / 1024, "disk_mb": size / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200000,1000000", help="flows per day, comma-separated")
    args = parser.parse_args()
    print(f"cpu cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}\n")
    print("| flows/day | flow rows | dns rows | proxy rows | generate s | process s | rows/s "
          "(all) | flow rows/s | peak RSS MB | parquet MB | < 60 s |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
    for flows in (int(x) for x in args.sizes.split(",")):
        r = run(flows)
        rows, secs = r["rows"], r["seconds"]
        total = sum(rows.values())
        print(
            f"| {flows:,} | {rows['flow']:,} | {rows['dns']:,} | {rows['proxy']:,} | {secs:.1f} "
            f"| {r['wall']:.1f} | {total / secs:,.0f} | {rows['flow'] / secs:,.0f} "
            f"| {r['peak_mb']:.0f} | {r['disk_mb']:.1f} "
            f"| {'yes' if r['wall'] < TARGET_SECONDS else 'NO'} |"
        )


if __name__ == "__main__":
    main()
