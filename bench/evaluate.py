"""Recall@50 / precision@50 of the scorer over the generator's injected scenarios.

Run: .venv-bench/bin/python bench/evaluate.py [--flows 20000] [--seeds 11 12 13]
Generates each seed's demo day into a temp lake, scores flow, dns and proxy with the default
settings (plus the generator's organisation domain as SpotLab.user_domain, as a site would
configure it), and prints a markdown table per scenario and overall.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spot_lab.demo.command import score_lake  # noqa: E402
from spot_lab.demo.generator import generate  # noqa: E402
from spot_lab.scoring.evaluation import precision_at, scenario_hits  # noqa: E402

DAY = dt.date(2026, 11, 28)


def evaluate_seed(root: Path, seed: int, flows: int, k: int) -> tuple[list[dict], dict]:
    generate(root, DAY, days=1, flows_per_day=flows, seed=seed, force=True, progress=False)
    score_lake(root, DAY, progress=False)
    hits = scenario_hits(root, DAY, k)
    precision = {t: precision_at(root, DAY, t, k) for t in ("flow", "dns", "proxy")}
    return hits, precision


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13])
    parser.add_argument("--k", type=int, default=50)
    args = parser.parse_args()
    total = found = 0
    header = False
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            hits, precision = evaluate_seed(Path(tmp) / "lake", seed, args.flows, args.k)
        if not header:  # one row per seed: first rank of each scenario ('-': not in the top k)
            names = " | ".join(h["name"] for h in hits)
            print(f"| seed | flows/day | {names} | recall@{args.k} "
                  f"| precision@{args.k} flow / dns / proxy |")  # fmt: skip
            print("|---:|---:|" + "---:|" * (len(hits) + 1) + "---|")
            header = True
        total += len(hits)
        found += sum(h["found"] for h in hits)
        ranks = " | ".join(str(h["rank"]) if h["found"] else "-" for h in hits)
        recall = sum(h["found"] for h in hits) / max(len(hits), 1)
        prec = " / ".join(f"{precision[t]:.2f}" for t in ("flow", "dns", "proxy"))
        print(f"| {seed} | {args.flows:,} | {ranks} | {recall:.2f} | {prec} |", flush=True)
    print()
    print(f"recall@{args.k} over all seeds: {found}/{total} = {found / max(total, 1):.2f}")


if __name__ == "__main__":
    main()
