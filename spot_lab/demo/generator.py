"""Realistic demo days of flow, DNS and proxy data, with injected threats and their ground truth.

`generate()` writes raw hour partitions (through `Lake.append`, in the Arrow schemas of
spot_lab.store.schema), the per-minute `*_ingest_summary` rows, Spot's context files and
`<lake>/ground_truth.json`. It never writes scores: those come from the scoring model.

Everything is vectorised with numpy/Arrow; the only Python loops build the small world (a
few thousand hosts and names) and the scenarios' few thousand rows. Output depends only on
the arguments: same seed, same rows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from spot_lab.dates import parse_date
from spot_lab.demo import world_data as W
from spot_lab.demo.rows import DIURNAL, US_PER_HOUR
from spot_lab.demo.scenarios import inject_scenarios
from spot_lab.demo.traffic import BULK
from spot_lab.demo.world import World
from spot_lab.errors import InputError, LakeError
from spot_lab.store.lake import DEMO_MARK, Lake, foreign_entries, is_demo_lake
from spot_lab.store.schema import DATA_TYPES

MAX_FLOWS_PER_DAY = 100_000_000
MAX_DAYS = 366
GROUND_TRUTH = "ground_truth.json"


@dataclass
class GenerateSummary:
    """What `generate` wrote; str() is the human summary printed by the CLI."""

    lake: Path
    dates: list[dt.date]
    rows: dict[str, int]
    scenarios: int
    seconds: float
    ground_truth: Path = field(init=False)

    def __post_init__(self) -> None:
        self.ground_truth = self.lake / GROUND_TRUTH

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def __str__(self) -> str:
        rate = self.total_rows / self.seconds if self.seconds > 0 else 0.0
        span = f"{self.dates[0]}" + (f" to {self.dates[-1]}" if len(self.dates) > 1 else "")
        lines = [f"generated {span} into {self.lake} in {self.seconds:.1f} s ({rate:,.0f} rows/s)"]
        lines += [f"  {name:<6}{count:>12,} rows" for name, count in self.rows.items()]
        lines.append(f"  {self.scenarios} injected scenarios, ground truth in {self.ground_truth}")
        return "\n".join(lines)


# ---- validation -----------------------------------------------------------------------------
def _count(value: Any, what: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{what} must be a whole number, got {value!r}")
    if value <= 0:
        raise InputError(f"{what} must be greater than zero, got {value}")
    if value > limit:
        raise InputError(f"{what} {value:,} is too large: use at most {limit:,}")
    return int(value)


def _check_target(root: Path, force: bool) -> None:
    """Generate writes into a missing or empty folder, or (with force) replaces a demo lake
    it made itself; it never removes a folder or a file that spot-lab did not write."""
    if root.exists() and not root.is_dir():
        raise LakeError(f"{root} is a file, not a folder: choose another --lake path")
    if not root.is_dir() or not any(root.iterdir()):
        return
    if not is_demo_lake(root):
        first = next(iter(sorted(root.iterdir()))).name
        raise LakeError(
            f"{root} holds files spot-lab did not write (such as {first!r}): demo data goes "
            "only into an empty folder or a demo lake spot-lab made; choose another --lake"
        )
    if not force:
        raise LakeError(f"{root} is a demo lake already: add --force to replace it")
    foreign = foreign_entries(root)
    if foreign:
        raise LakeError(
            f"{root} is a demo lake but also holds {foreign[0].name!r}, which spot-lab did "
            "not write: move it out first, or choose another --lake"
        )


# ---- entry point ----------------------------------------------------------------------------
def generate(
    lake: str | os.PathLike,
    start: dt.date | str,
    *,
    days: int = 1,
    flows_per_day: int = 200_000,
    seed: int = 7,
    force: bool = False,
    progress: bool = True,
) -> GenerateSummary:
    """Write `days` demo days from `start` into a new lake folder; see the module docstring."""
    first = parse_date(start)
    days = _count(days, "the number of days", MAX_DAYS)
    flows_per_day = _count(flows_per_day, "flows per day", MAX_FLOWS_PER_DAY)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"the seed must be a whole number >= 0, got {seed!r}")
    root = Path(lake).expanduser().absolute()
    _check_target(root, force)
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LakeError(f"cannot create {root.parent}: {exc.strerror}") from None

    began = time.perf_counter()
    # Build beside the target and swap it in at the end: a failure leaves the old lake intact.
    staging = root.parent / f".{root.name}.generating-{uuid.uuid4().hex[:8]}"
    try:
        dates = [first + dt.timedelta(days=i) for i in range(days)]
        rows, scenarios = _write_lake(Lake(staging, create=True), dates, flows_per_day, seed,
                                      progress)  # fmt: skip
        mark = {"made_by": "spot-lab generate", "seed": seed, "dates": [str(d) for d in dates]}
        (staging / DEMO_MARK).write_text(json.dumps(mark) + "\n")
        _swap_in(staging, root)
    except OSError as exc:  # disk full, permissions: the old lake is untouched
        raise LakeError(f"cannot write the lake {root}: {exc.strerror or exc}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return GenerateSummary(root, dates, rows, scenarios, time.perf_counter() - began)


def _swap_in(staging: Path, root: Path) -> None:
    if root.is_dir() and any(root.iterdir()):
        old = root.parent / f".{root.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(root, old)
        os.rename(staging, root)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, root)  # replaces a missing or empty folder


def _write_lake(
    lake: Lake, dates: list[dt.date], flows_per_day: int, seed: int, progress: bool
) -> tuple[dict[str, int], int]:
    world = World(seed)
    world.write_context(lake)
    totals = dict.fromkeys(DATA_TYPES, 0)
    truth: list[dict] = []
    for day in dates:
        rng = np.random.default_rng([seed, day.toordinal()])
        sizes = {"flow": flows_per_day, "dns": max(1, flows_per_day // 3),
                 "proxy": max(1, flows_per_day // 5)}  # fmt: skip
        parts: dict[str, list[tuple[pa.Table, np.ndarray]]] = {k: [] for k in DATA_TYPES}
        truth += inject_scenarios(world, rng, day, sizes, parts)
        for kind in DATA_TYPES:
            tick = time.perf_counter()
            totals[kind] += _write_day(lake, world, rng, kind, day, sizes[kind], parts.pop(kind))
            if progress:
                print(f"  {day} {kind:<5} written in {time.perf_counter() - tick:.1f} s",
                      file=sys.stderr)  # fmt: skip
    ground = {
        "generator": {
            "seed": seed,
            "first_date": dates[0].isoformat(),
            "dates": [d.isoformat() for d in dates],
            "flows_per_day": flows_per_day,
            "rows": totals,
            "user_domain": W.USER_DOMAIN,
        },
        "scenarios": truth,
    }
    (lake.root / GROUND_TRUTH).write_text(json.dumps(ground, indent=1) + "\n")
    return totals, len(truth)


def _write_day(
    lake: Lake, world: World, rng: np.random.Generator, kind: str, day: dt.date, n: int,
    scenario: list[tuple[pa.Table, np.ndarray]],
) -> int:  # fmt: skip
    """Generate and write one type's day hour by hour (memory stays at one hour's rows),
    merging the scenario rows in time order, then the per-minute ingest summary."""
    extra = pa.concat_tables([t for t, _ in scenario])
    extra_us = np.concatenate([u for _, u in scenario])
    extra_hour = extra_us // US_PER_HOUR
    per_hour = rng.multinomial(n, DIURNAL)
    minutes = np.zeros(1440, dtype=np.int64)
    written = 0
    for hour in range(24):
        us = hour * US_PER_HOUR + np.sort(rng.integers(0, US_PER_HOUR, per_hour[hour]))
        mine = np.flatnonzero(extra_hour == hour)
        parts = [BULK[kind](world, rng, day, us)] if len(us) else []
        if len(mine):
            parts.append((extra.take(pa.array(mine)), extra_us[mine]))
        if not parts:
            continue
        table = pa.concat_tables([t for t, _ in parts])
        stamps = np.concatenate([u for _, u in parts])
        order = np.argsort(stamps, kind="stable")
        lake.append(kind, table.take(pa.array(order)), day, hour)
        minutes += np.bincount(stamps // 60_000_000, minlength=1440)
        written += table.num_rows
    busy = np.flatnonzero(minutes)
    if kind == "flow":  # Spot's flow OA writes it unpadded (reference 1.4)
        stamp = [f"{day.year}-{day.month}-{day.day} {m // 60}:{m % 60}" for m in busy]
    else:
        stamp = [f"{day.isoformat()} {m // 60:02d}:{m % 60:02d}" for m in busy]
    summary = pa.table({"tdate": stamp, "total": minutes[busy].astype(np.int64)})
    lake.replace_partition(f"{kind}_ingest_summary", summary, day)
    return written
