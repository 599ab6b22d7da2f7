"""Benchmark: `%spot_threat <ip>` end to end on a 10M-flow day vs the Spot-notebook way.

First the day's IP index is built (spot_lab.store.ipindex, what `spot-lab score --type flow` and
`spot-lab index` do once per day): its time, peak memory and size are printed as the one-off
per-day cost. Then spot-lab: `spot_lab.investigate(ip)` on the embedded lake (engine opened
per run, queries, enrichment, the report object; no browser rendering). Spot-notebook way:
load the day's flow files into pandas, filter on the IP and group per (sip, dip, sport,
dport) as Spot's expanded search did. Each runs in a fresh child process in the same run,
so peak memory (ru_maxrss) is each side's own. Run on demand:

    .venv-bench/bin/python bench/bench_threat.py [--flows 10000000] [--runs 7]

The generated lake is cached under bench/.cache/ (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAY = dt.date(2026, 11, 28)


def ensure_lake(flows: int) -> Path:
    lake = ROOT / "bench" / ".cache" / f"flow-{flows // 1_000_000}m"
    if not (lake / "ground_truth.json").exists():
        sys.path.insert(0, str(ROOT))
        from spot_lab.demo.generator import generate

        print(f"generating {flows:,} flows into {lake} (cached for later runs)...", flush=True)
        print(generate(lake, DAY, days=1, flows_per_day=flows, seed=3, progress=False, force=True))
    return lake


def c2_ip(lake: Path) -> str:
    truth = json.loads((lake / "ground_truth.json").read_text())
    return next(s for s in truth["scenarios"] if s["name"] == "c2_beaconing")["anchors"]["ips"][0]


# ---- the two sides, each in its own process ---------------------------------------------------
def child_spot_lab(lake: str, ip: str, runs: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from spot_lab.config import SpotLab
    from spot_lab.engines.duckdb_engine import DuckDBEngine
    from spot_lab.investigation.search import investigate
    from spot_lab.store.ipindex import is_fresh

    settings = SpotLab(lake=lake)
    times = []
    for _ in range(runs):  # a new engine each call: a notebook's first %spot_threat
        start = time.perf_counter()
        engine = DuckDBEngine(lake)
        report = investigate(ip, engine=engine, settings=settings)
        times.append(time.perf_counter() - start)
        engine.close()
    assert is_fresh(engine.lake, DAY), "the IP index was not used"
    # the session's engine, opened once: the later %spot_threat calls of a notebook
    # (the magic investigates on the current connection)
    engine = DuckDBEngine(lake)
    investigate(ip, engine=engine, settings=settings)
    session = []
    for _ in range(runs):
        start = time.perf_counter()
        again = investigate(ip, engine=engine, settings=settings)
        session.append(time.perf_counter() - start)
    engine.close()
    rows = int(report.peers["connections"].sum())
    assert int(again.peers["connections"].sum()) == rows
    return {"times": times, "session": session, "rows": rows}


def child_index(lake: str, ip: str, runs: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from spot_lab.store.ipindex import build

    result = build(lake, DAY)
    return {"seconds": result.seconds, "rows": result.rows, "index_mb": result.index_bytes / 1e6,
            "raw_mb": result.raw_bytes / 1e6}  # fmt: skip


def child_pandas(lake: str, ip: str, runs: int) -> dict:
    import pandas as pd

    files = sorted(Path(lake, "flow", "hive").glob("y=*/m=*/d=*/h=*/*.parquet"))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        day = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        mine = day[(day["sip"] == ip) | (day["dip"] == ip)]
        details = mine.groupby(["sip", "dip", "sport", "dport"], as_index=False).agg(
            first_seen=("treceived", "min"),
            last_seen=("treceived", "max"),
            connections=("treceived", "size"),
            max_pkts=("ipkt", "max"),
            avg_pkts=("ipkt", "mean"),
            max_bytes=("ibyt", "max"),
            avg_bytes=("ibyt", "mean"),
        )
        times.append(time.perf_counter() - start)
        del day
    return {"times": times, "rows": int(details["connections"].sum())}


def run_child(side: str, lake: Path, ip: str, runs: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", side, str(lake), ip, str(runs)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--pandas-runs", type=int, default=3)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        side, lake, ip, runs = args.child
        child = {"index": child_index, "spot-lab": child_spot_lab, "pandas": child_pandas}[side]
        result = child(lake, ip, int(runs))
        result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    lake = ensure_lake(args.flows)
    ip = c2_ip(lake)
    index = run_child("index", lake, ip, 1)
    ours = run_child("spot-lab", lake, ip, args.runs)
    theirs = run_child("pandas", lake, ip, args.pandas_runs)
    assert ours["rows"] == theirs["rows"], (ours["rows"], theirs["rows"])
    med_ours, med_theirs = statistics.median(ours["times"]), statistics.median(theirs["times"])
    print(
        f"\none-off per-day cost: the IP index of {args.flows:,} flows ({index['rows']:,} rows) "
        f"built in {index['seconds']:.1f} s, peak RSS {index['peak_mb']:,.0f} MB; "
        f"{index['index_mb']:,.1f} MB on disk vs {index['raw_mb']:,.1f} MB of raw flow files"
    )
    print(f"\n`%spot_threat {ip}` on {args.flows:,} flows (one day), {os.cpu_count()} cores\n")
    print("| method | runs | median s | min s | max s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for name, t, peak in (
        ("spot-lab investigate(), a new engine each call", ours["times"], ours["peak_mb"]),
        ("spot-lab investigate(), the session's engine", ours["session"], ours["peak_mb"]),
        ("Spot notebook way (pandas read + filter + groupby)", theirs["times"], theirs["peak_mb"]),
    ):
        print(
            f"| {name} | {len(t)} | {statistics.median(t):.3f} | {min(t):.3f} | {max(t):.3f} "
            f"| {peak:,.0f} |"
        )
    med_session = statistics.median(ours["session"])
    print(
        f"\nspeed-up: {med_theirs / med_ours:.1f}x with a new engine each call, "
        f"{med_theirs / med_session:.1f}x on the session's engine "
        f"(connections of the anchor: {ours['rows']:,})"
    )


if __name__ == "__main__":
    main()
