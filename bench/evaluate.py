"""Recall@K per scenario type, precision@K per data type, benign look-alikes in the top K,
over seeds x dates x sizes of generated days (logic and matching rules: spot_lab.scoring.evaluation).

<<<<<<< HEAD
Run: .venv-bench/bin/python bench/evaluate.py [--flows 20000] [--seeds 11 12 13]
Generates each seed's demo day into a temp lake, scores flow, dns and proxy with the default
settings (plus the generator's organisation domain as SpotLab.user_domain, as a site would
configure it), and prints a markdown table per scenario and overall.
=======
    .venv/bin/python bench/evaluate.py --ranking lda --seeds 1-10 \\
        --dates 2026-11-26,2026-11-27,2026-11-28 --sizes 20k,200k,1M --jobs 2

One unit of work is a (seed, size): a lake of consecutive days from the first date minus
--history days (so "first seen" and "new pair" detectors have a past) to the last date, each
evaluated date scored (`spot-lab score`'s pipeline: Spot's LDA, and the detectors once merged)
and judged. --ranking threats judges the triage lists `T_threats`; --ranking lda Spot's
flagged rows `T_scores`. Units run in parallel (--jobs); chunks (--seeds 1-5 here, 6-10
elsewhere) write their own JSON and `--merge a.json b.json` summarises them together.
Results: bench/results/evaluation-<ranking>-<seeds>-<sizes>.json (every unit's ranks, and the
summary: min and median over seeds and dates of recall per type, precision per type, and the
count of benign look-alikes in the top K).
>>>>>>> scenarios
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results"
TYPES = ("flow", "dns", "proxy")


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi or lo) + 1))
    return seeds


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def run_unit(seed: int, flows: int, dates: list[str], history: int, ranking: str,
             k: int) -> list[dict]:  # fmt: skip
    """Generate one lake, score and judge each date; one record per (seed, size, date)."""
    from spot_lab.demo.command import score_lake
    from spot_lab.demo.generator import generate
    from spot_lab.scoring.evaluation import evaluate_day

    days = sorted(dt.date.fromisoformat(d) for d in dates)
    first = days[0] - dt.timedelta(days=history)
    out = []
    with tempfile.TemporaryDirectory(prefix="spot-eval-") as tmp:
        root = Path(tmp) / "lake"
        began = time.perf_counter()
        generate(root, first, days=(days[-1] - first).days + 1, flows_per_day=flows, seed=seed,
                 progress=False)  # fmt: skip
        for day in days:
            tick = time.perf_counter()
            score_lake(root, day, progress=False)
            try:
                result = evaluate_day(root, day, ranking, k)
            except (KeyError, ValueError, FileNotFoundError) as exc:
                raise SystemExit(f"cannot read the {ranking} ranking ({exc}): the triage list "
                                 "comes with the detectors; use --ranking lda until they are merged") from None  # fmt: skip
            out.append({"seed": seed, "flows": flows, "date": str(day), **result,
                        "seconds": round(time.perf_counter() - tick, 1)})  # fmt: skip
        out[0]["generate_seconds"] = round(time.perf_counter() - began, 1)
    return out


def _spread(values: list[float]) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"min": None, "median": None, "n": 0}
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3),
            "n": len(values)}  # fmt: skip


def summarise(units: list[dict]) -> dict:
    """Per size: recall per scenario type (share of units found) and overall, precision per data
    type and benign look-alikes in the top K (min and median over the (seed, date) units)."""
    out = {}
    for flows in sorted({u["flows"] for u in units}):
        mine = [u for u in units if u["flows"] == flows]
        names = sorted({s["name"] for u in mine for s in u["scenarios"] if not s["benign"]})
        # per type: one instance a day, so recall is the share of (seed, date) units found
        recall = {n: round(statistics.mean(float(any(s["found"] for s in u["scenarios"]
                                                    if s["name"] == n)) for u in mine), 3)
                  for n in names}  # fmt: skip
        overall = [sum(s["found"] for s in u["scenarios"] if not s["benign"])
                   / max(1, sum(not s["benign"] for s in u["scenarios"])) for u in mine]  # fmt: skip
        benign = [sum(s["found"] for s in u["scenarios"] if s["benign"]) for u in mine]
        reached: dict[str, int] = {}
        for u in mine:
            for s in u["scenarios"]:
                if s["benign"] and s["found"]:
                    reached[s["name"]] = reached.get(s["name"], 0) + 1
        out[str(flows)] = {
            "units": len(mine),
            "recall_overall": _spread(overall),
            "recall": recall,
            "precision": {t: _spread([u["precision"][t] for u in mine]) for t in TYPES},
            "benign_in_top": _spread(benign),
            "benign_reaching_top": reached,
        }
    return out


def markdown(summary: dict, k: int) -> str:
    lines = []
    for flows, s in summary.items():
        lines.append(f"\n**{int(flows):,} flows/day** ({s['units']} seed x date units)\n")
        lines.append(f"| scenario | recall@{k} (share of units) |\n|---|---:|")
        for name, r in s["recall"].items():
            lines.append(f"| {name} | {r:.2f} |")
        o = s["recall_overall"]
        lines.append(f"| **overall, min / median** | **{o['min']:.2f} / {o['median']:.2f}** |")
        prec = ", ".join(f"{t} {p['min']:.2f} / {p['median']:.2f}" if p["n"] else f"{t} -"
                         for t, p in s["precision"].items())  # fmt: skip
        b = s["benign_in_top"]
        lines.append(f"\nprecision@{k}: {prec}; benign look-alikes in the top {k}: "
                     f"{b['min']} / {b['median']} (reached: {s['benign_reaching_top'] or 'none'})")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranking", choices=("threats", "lda"), default="threats")
    parser.add_argument("--seeds", default="1-10", help="e.g. 1-10 or 1,4,7")
    parser.add_argument("--dates", default="2026-11-26,2026-11-27,2026-11-28")
    parser.add_argument("--sizes", default="20k,200k,1M", help="flows per day, e.g. 20k,200k,1M")
    parser.add_argument(
        "--history", type=int, default=1, help="days generated before the first date"
    )
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, help="result JSON (default under bench/results/)")
    parser.add_argument("--merge", type=Path, nargs="+", help="summarise result JSONs together")
    args = parser.parse_args()
    if args.merge:
        units = [u for path in args.merge for u in json.loads(path.read_text())["units"]]
        k = json.loads(args.merge[0].read_text())["k"]
        print(markdown(summarise(units), k))
        return
    seeds, sizes = parse_seeds(args.seeds), [parse_size(s) for s in args.sizes.split(",")]
    dates = [d.strip() for d in args.dates.split(",")]
    out = (
        args.out
        or RESULTS / f"evaluation-{args.ranking}-s{args.seeds}-{args.sizes}.json".replace(",", "_")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    work = [(seed, flows) for flows in sizes for seed in seeds]
    print(f"{len(work)} units ({len(seeds)} seeds x {len(sizes)} sizes) x {len(dates)} dates, "
          f"{args.jobs} job(s); cpu cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}",
          file=sys.stderr)  # fmt: skip
    units: list[dict] = []
    began = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_unit, s, f, dates, args.history, args.ranking, args.k): (s, f)
                   for s, f in work}  # fmt: skip
        for done, future in enumerate(as_completed(futures), 1):
            seed, flows = futures[future]
            units += future.result()
            elapsed = time.perf_counter() - began
            print(f"  [{done}/{len(work)}] seed {seed} at {flows:,} flows done; {elapsed:.0f} s "
                  f"elapsed, ~{elapsed / done * (len(work) - done):.0f} s left", file=sys.stderr)  # fmt: skip
            record = {"ranking": args.ranking, "k": args.k, "dates": dates, "history": args.history,
                      "units": units, "summary": summarise(units)}  # fmt: skip
            out.write_text(json.dumps(record, indent=1) + "\n")  # partial results survive a stop
    print(markdown(summarise(units), args.k))
    print(f"\nresults: {out}; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
