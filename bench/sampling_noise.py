"""How much of a beacon's timing statistics is chance at n intervals: the spread of RITA's
Bowley skew and the relative spread of the MAD over many samples of uniform (a jitter),
normal and exponential (Poisson arrivals) intervals, beside the standard errors the timing
gate assumes (sqrt(2 / n) and 1 / sqrt(n): spot_lab/detect/thresholds.yaml `beacon.chance_z`).
With --null, the table of `beacon.person_null`: the quantile of MAD / median of n exponential
intervals (a person's visits arriving at random, the most regular of human patterns).
With --gates, how often the timing-alone gate (spot_lab.detect.flow.regularity_sql's second)
passes an implant at a 49% jitter either side and a person's random visits, beside the MAD
bound it replaced (MAD at 1 + 1.96 / sqrt(n) times its value, 0.85 at the bounds).

    python bench/sampling_noise.py [--draws 20000] [--sizes 12,16,40,100,300]
    python bench/sampling_noise.py --null [--draws 200000] [--quantile 0.001]
    python bench/sampling_noise.py --gates [--draws 20000] [--sizes 12,24,39,60,80,120]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHAPES = {
    "uniform": lambda rng, shape: rng.uniform(0.5, 1.5, shape),
    "normal": lambda rng, shape: rng.normal(1.0, 0.2, shape),
    "exponential": lambda rng, shape: rng.exponential(1.0, shape),
}


def bowley(x: np.ndarray) -> np.ndarray:
    q1, q2, q3 = np.quantile(x, [0.25, 0.5, 0.75], axis=1)
    return (q1 + q3 - 2 * q2) / (q3 - q1)


def mad(x: np.ndarray) -> np.ndarray:
    return np.median(np.abs(x - np.median(x, axis=1, keepdims=True)), axis=1)


NULL_SIZES = (3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024)


def null_table(rng: np.random.Generator, draws: int, quantile: float) -> dict[int, float]:
    """n -> the `quantile` of MAD / median over `draws` samples of n exponential intervals."""
    table = {}
    for n in NULL_SIZES:
        chunk, ratios = max(1, 2_000_000 // n), []
        for start in range(0, draws, chunk):
            x = rng.exponential(1.0, (min(chunk, draws - start), n))
            ratios.append(mad(x) / np.median(x, axis=1))
        table[n] = round(float(np.quantile(np.concatenate(ratios), quantile)), 3)
    return table


def gate_rates(rng: np.random.Generator, n: int, draws: int) -> tuple[float, float, float]:
    """Shares of samples of n intervals passing: an implant (sleep x U(0.51, 1.49)) by the
    gate and by the former MAD bound; a person (exponential intervals) by the gate. The gate
    is the detectors' own SQL (spot_lab.detect.flow.regularity_sql) on the embedded engine."""
    import tempfile

    import pyarrow as pa

    from spot_lab.detect.base import thresholds
    from spot_lab.detect.flow import regularity_sql
    from spot_lab.engines import worktables
    from spot_lab.engines.duckdb_engine import DuckDBEngine
    from spot_lab.store.lake import Lake

    b = thresholds()["beacon"]
    z, floor, rates = b["chance_z"], b["min_timing"], []
    with tempfile.TemporaryDirectory() as tmp:
        engine = DuckDBEngine(Lake(Path(tmp) / "lake", create=True))
        for x in (rng.uniform(0.51, 1.49, (draws, n)), rng.exponential(1.0, (draws, n))):
            skew = bowley(x)  # continuous samples: q3 > q1
            rows = {"intervals": np.full(draws, n), "median_iv": np.median(x, axis=1) * 1000, "ts_skew": skew,
                    "mad_iv": mad(x) * 1000, "ts_score": np.zeros(draws), "ds_score": np.zeros(draws)}  # fmt: skip
            worktables.push(engine, "_samples", pa.table(rows))
            params: dict = {}
            gate = f"SELECT avg({regularity_sql(params)}) AS share FROM _samples"
            rates.append(engine.arrow(gate, params)["share"][0].as_py())
            if len(rates) == 1:  # the former bound: the MAD at 1 + z / sqrt(n) times itself
                tight = np.maximum(
                    0, 1 - rows["mad_iv"] * (1 + z / math.sqrt(n)) / rows["median_iv"]
                )
                loose = np.maximum(0, np.abs(skew) - z * math.sqrt(2 / n))
                former = float(np.mean((1 - loose + tight) / 2 >= floor))
        engine.close()
    return rates[0], former, rates[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, help="samples per size (20,000; 200,000 with --null)")
    parser.add_argument("--sizes", help="interval counts (12,16,40,100,300; 12,24,39,60,80,120)")
    parser.add_argument("--null", action="store_true", help="print beacon.person_null's table")
    parser.add_argument("--quantile", type=float, default=0.001)
    parser.add_argument("--gates", action="store_true", help="the timing gate's pass rates")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    if args.gates:
        print("| n | implant at 49% jitter: gate | former MAD bound | person (Poisson): gate |")
        print("|---|---|---|---|")
        for n in (int(x) for x in (args.sizes or "12,24,39,60,80,120").split(",")):
            now, before, person = gate_rates(rng, n, args.draws or 20_000)
            print(f"| {n} | {now:.3f} | {before:.3f} | {person:.4f} |")
        return
    if args.null:
        table = null_table(rng, args.draws or 200_000, args.quantile)
        print("    mad_ratio: {" + ", ".join(f"{n}: {q}" for n, q in table.items()) + "}")
        return
    print("| n | shape | skew sd | sqrt(2/n) | 95% of abs(skew) | MAD sd / mean | 1/sqrt(n) |")
    print("|---|---|---|---|---|---|---|")
    for n in (int(s) for s in (args.sizes or "12,16,40,100,300").split(",")):
        for name, draw in SHAPES.items():
            x = draw(rng, (args.draws or 20_000, n))
            b, m = bowley(x), mad(x)
            print(f"| {n} | {name} | {b.std():.3f} | {np.sqrt(2 / n):.3f} | "
                  f"{np.quantile(np.abs(b), 0.95):.3f} | {m.std() / m.mean():.3f} | "
                  f"{1 / np.sqrt(n):.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
