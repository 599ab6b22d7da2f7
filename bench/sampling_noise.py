"""How much of a beacon's timing statistics is chance at n intervals: the spread of RITA's
Bowley skew and the relative spread of the MAD over many samples of uniform (a jitter),
normal and exponential (Poisson arrivals) intervals, beside the standard errors the timing
gate assumes (sqrt(2 / n) and 1 / sqrt(n): spot_lab/detect/thresholds.yaml `beacon.chance_z`).

    python bench/sampling_noise.py [--draws 20000] [--sizes 12,16,40,100,300]
"""

from __future__ import annotations

import argparse

import numpy as np

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=20_000)
    parser.add_argument("--sizes", default="12,16,40,100,300")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("| n | shape | skew sd | sqrt(2/n) | 95% of abs(skew) | MAD sd / mean | 1/sqrt(n) |")
    print("|---|---|---|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        for name, draw in SHAPES.items():
            x = draw(rng, (args.draws, n))
            b, m = bowley(x), mad(x)
            print(f"| {n} | {name} | {b.std():.3f} | {np.sqrt(2 / n):.3f} | "
                  f"{np.quantile(np.abs(b), 0.95):.3f} | {m.std() / m.mean():.3f} | "
                  f"{1 / np.sqrt(n):.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
