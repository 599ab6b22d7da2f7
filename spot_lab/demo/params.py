"""The scenarios' parameters, drawn from the ranges of scenarios.yaml (with their sources).

`draw_plan(seed, day_rng)` gives every scenario's parameters for one day: those drawn once per
seed (an attacker's or a product's configuration) come from the seed alone, so they persist
across the days of a lake; those marked `per: day` come from the day's generator.
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

KINDS = ("uniform", "loguniform", "integers", "choice", "value")


@cache
def ranges() -> dict[str, dict[str, dict]]:
    """The parsed scenarios.yaml; every parameter is checked to be of a known kind."""
    text = resources.files("spot_lab.demo").joinpath("scenarios.yaml").read_text()
    spec = yaml.safe_load(text)
    for scenario, params in spec.items():
        for name, entry in params.items():
            kinds = [k for k in KINDS if k in entry]
            if len(kinds) != 1 or not entry.get("source"):
                raise ValueError(f"scenarios.yaml {scenario}.{name}: one kind and a source needed")
    return spec


def draw(entry: dict, rng: np.random.Generator) -> Any:
    """One value of a parameter entry (see scenarios.yaml's header for the kinds)."""
    if "value" in entry:
        return entry["value"]
    if "uniform" in entry:
        lo, hi = entry["uniform"]
        return float(rng.uniform(lo, hi))
    if "loguniform" in entry:
        lo, hi = entry["loguniform"]
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    if "integers" in entry:
        lo, hi = entry["integers"]
        return int(rng.integers(lo, hi + 1))
    values = entry["choice"]
    p = entry.get("p")
    if p is not None:
        p = np.asarray(p, dtype=float) / np.sum(p)
    return values[int(rng.choice(len(values), p=p))]


def draw_plan(seed: int, day_rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    """Every scenario's parameters for one day (seed-level ones identical on every day)."""
    seed_rng = np.random.default_rng([seed, 1])
    plan: dict[str, dict[str, Any]] = {}
    for scenario, params in ranges().items():
        plan[scenario] = {
            name: draw(entry, day_rng if entry.get("per") == "day" else seed_rng)
            for name, entry in params.items()
        }
    return plan
