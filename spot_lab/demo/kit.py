"""What every injected scenario uses: the day it is written into, its ground-truth record,
beacon timings with each framework's jitter, random labels, and volume caps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from spot_lab.demo.rows import US_PER_DAY, US_PER_HOUR
from spot_lab.demo.world import World

US = 1_000_000


@dataclass
class Day:
    """One generated day as the scenarios see it: they append rows and ground truth."""

    w: World
    rng: np.random.Generator
    day: dt.date
    sizes: dict[str, int]
    plan: dict[str, dict[str, Any]]
    people: dict[str, dict[str, str]]
    parts: dict[str, list[tuple[pa.Table, np.ndarray]]]
    truth: list[dict] = field(default_factory=list)

    def add(self, kind: str, *rows: tuple[pa.Table, np.ndarray]) -> None:
        self.parts[kind].extend(r for r in rows if len(r[1]))

    def cap(self, kind: str, share: float, floor: int = 1) -> int:
        """At most `share` of the day's `kind` rows (and at least `floor`)."""
        return max(floor, int(share * self.sizes[kind]))

    def record(self, name: str, data_type: str, description: str, us: np.ndarray, *,
               ips=(), query_names=(), uris=(), pairs=(), hosts=(), compromised=(),
               patient_zero=None, benign=False) -> None:  # fmt: skip
        """Append the scenario's ground truth: its anchors (what ties a detection to it),
        the internal hosts involved, those the attacker controls, and its time window."""
        self.truth.append({
            "name": name,
            "data_type": data_type,
            "date": self.day.isoformat(),
            "benign": benign,
            "description": description,
            "parameters": _plain(self.plan.get(name, {})),
            "anchors": {"ips": list(dict.fromkeys(ips)),
                        "query_names": list(dict.fromkeys(query_names)),
                        "uris": list(dict.fromkeys(uris)),
                        "pairs": [list(p) for p in dict.fromkeys(tuple(p) for p in pairs)]},
            "internal_hosts": list(dict.fromkeys(hosts)),
            "compromised_hosts": list(dict.fromkeys(compromised)),
            "patient_zero": patient_zero,
            "window": {"start": stamp(self.day, int(np.min(us))),
                       "end": stamp(self.day, int(np.max(us)))},
        })  # fmt: skip


def _plain(params: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in params.items()}


def stamp(day: dt.date, us: int) -> str:
    moment = dt.datetime(day.year, day.month, day.day) + dt.timedelta(microseconds=int(us))
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def window(start_hour: float, hours: float) -> tuple[int, int]:
    """[start, end) in microseconds since midnight, clipped to the day."""
    start = int(start_hour * US_PER_HOUR)
    return start, int(min(US_PER_DAY - 1, start + hours * US_PER_HOUR))


def beacon_times(rng: np.random.Generator, start: int, end: int, sleep_s: float,
                 jitter_pct: float, mode: str = "symmetric") -> np.ndarray:  # fmt: skip
    """Check-in times between start and end (us): Cobalt Strike sleeps in [s(1-j), s],
    PoshC2/Empire in [s(1-j), s(1+j)], Sliver s plus 0..j*s (Fox-IT, "Hunting for beacons")."""
    j = jitter_pct / 100.0
    lo, hi = {"subtract": (1 - j, 1.0), "add": (1.0, 1 + j)}.get(mode, (1 - j, 1 + j))
    n = int((end - start) / (sleep_s * US * max(lo, 0.05))) + 2
    gaps = rng.uniform(lo, hi, n) * sleep_s * US
    us = start + np.cumsum(gaps).astype(np.int64) - int(gaps[0])
    return us[us < end]


def random_labels(rng: np.random.Generator, lengths: np.ndarray, alphabet: str) -> list[str]:
    """One random string per length, over `alphabet` (vectorised)."""
    letters = np.array(list(alphabet))
    lengths = np.asarray(lengths, dtype=np.int64)
    text = "".join(letters[rng.integers(0, len(letters), int(lengths.sum()))].tolist())
    ends = np.cumsum(lengths)
    return [text[e - k : e] for e, k in zip(ends.tolist(), lengths.tolist(), strict=True)]


def spread(rng: np.random.Generator, value: float, pct: float, n: int) -> np.ndarray:
    """`n` integers around `value`, within +-pct percent."""
    return np.maximum(1, value * (1 + rng.uniform(-pct, pct, n) / 100)).astype(np.int64)


def packets(rng: np.random.Generator, nbytes: np.ndarray, lo: int = 300, hi: int = 1400):
    """Packet counts for byte counts, keeping 40-1500 bytes a packet."""
    per = rng.integers(lo, hi + 1, len(nbytes))
    return np.maximum(1, np.ceil(np.asarray(nbytes) / per)).astype(np.int64)
