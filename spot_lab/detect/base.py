"""What every detector shares: its thresholds (thresholds.yaml), RITA's bucketed category
score, the day's context (engine, partitions, internal hosts) and the shape of a finding.

A detector runs its SQL (spot_lab/queries/detect_*.yaml) in the engine; only its findings,
a few thousand rows at most, come back, as Arrow. `findings()` turns them into the common
columns the triage list combines (FINDING_COLUMNS): one row per entity, with the category
score, the numbers behind it (JSON) and a one-line summary from the detector's template.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import pyarrow as pa
import yaml

from spot_lab import queries
from spot_lab.engines.base import Engine
from spot_lab.store.schema import day_partition

# work tables the detectors share: the day's internal hosts and a list of candidate sources
HOSTS, CANDIDATES = "_spotlab_det_hosts", "_spotlab_det_candidates"

FINDING_SCHEMA = pa.schema(
    [
        ("detector", pa.string()),
        ("entity", pa.string()),
        ("entity_kind", pa.string()),
        ("ips", pa.string()),
        ("names", pa.string()),
        ("external", pa.string()),  # the outside party (prevalence, first seen), "" if none
        ("first_ts", pa.int64()),
        ("last_ts", pa.int64()),
        ("events", pa.int64()),
        ("score", pa.float64()),
        ("numbers", pa.string()),
        ("summary", pa.string()),
    ]
)


@cache
def thresholds() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("thresholds.yaml").read_text()
    return yaml.safe_load(text)


def limit() -> int:
    """How many findings one detector keeps (the rest are below them by score)."""
    return int(thresholds()["limits"]["findings_per_detector"])


def category(name: str) -> float:
    return float(thresholds()["categories"][name])


def bucketed(value: float | None, limits: dict[str, float]) -> float:
    """RITA v5 calculateBucketedScore: 0 below base, then 0.2..0.8 interpolated by bucket."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 0.0
    cats = thresholds()["categories"]
    base, low, med, high = (float(limits[k]) for k in ("base", "low", "medium", "high"))
    if value < base:
        return 0.0
    if value < low:
        return cats["none"] + (value - base) / (low - base) * (cats["low"] - cats["none"])
    if value < med:
        return cats["low"] + (value - low) / (med - low) * (cats["medium"] - cats["low"])
    capped = min(value, high)
    return cats["medium"] + (capped - med) / (high - med) * (cats["high"] - cats["medium"])


@dataclass
class Context:
    """One day of one type, as the detectors see it."""

    engine: Engine
    data_type: str
    day: dt.date
    params: dict[str, Any]  # the raw table's day partition (:y :m :d)
    hosts: str  # relation (ip, kind): the day's non-public IPs, kind 'internal' or 'special'
    span_start: int  # the day's first and last event time (epoch seconds)
    span_end: int
    internal_count: int  # internal hosts seen in the day
    history: list[dt.date] = field(default_factory=list)  # the lake's earlier days, newest first
    settings: Any = None
    notes: list[str] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)  # results detectors of the day share

    @property
    def span(self) -> int:
        return max(1, self.span_end - self.span_start)

    def sql(self, concern: str, name: str, **fragments: str) -> str:
        return queries.render(concern, name, hosts=self.hosts, **fragments)

    def days_sql(self, days: list[dt.date], tag: str = "h") -> str:
        """A y/m/d predicate selecting `days` (values bound into params: :<tag>y0, ...)."""
        if not days:
            return "1 = 0"
        parts = []
        for i, d in enumerate(days):
            p = day_partition(self.data_type, d)
            self.params.update({f"{tag}y{i}": p["y"], f"{tag}m{i}": p["m"], f"{tag}d{i}": p["d"]})
            parts.append(f"(y = :{tag}y{i} AND m = :{tag}m{i} AND d = :{tag}d{i})")
        return " OR ".join(parts)

    def run(self, concern: str, name: str, extra: dict | None = None, **fragments) -> pa.Table:
        params = {**self.params, **(extra or {})}
        return self.engine.arrow(self.sql(concern, name, **fragments), params)

    def rows(self, concern: str, name: str, extra: dict | None = None, **fragments) -> list[dict]:
        """The query's rows as dicts of plain Python numbers (findings are a few thousand)."""
        table = self.run(concern, name, extra, **fragments)
        return [{k: clean(v) for k, v in r.items()} for r in table.to_pylist()]


def clean(value: Any) -> Any:
    """A plain Python number (or the value): no Decimal, NaN or infinity."""
    if isinstance(value, Decimal):  # DuckDB's sums of BIGINT are HUGEINT
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return round(value, 4)
    return value


def findings(
    detector: str,
    rows: list[dict[str, Any]],
    *,
    template: str,
    score_of,
    numbers: tuple[str, ...],
) -> pa.Table:
    """The common finding rows of one detector: `score_of(row)` gives the category score
    (rows scoring 0 are dropped); `template` formats the summary over the row's values."""
    out: dict[str, list] = {f.name: [] for f in FINDING_SCHEMA}
    for row in rows:
        score = float(score_of(row))
        if score <= 0:
            continue
        row = {k: clean(v) for k, v in row.items()}
        nums = {k: row.get(k) for k in numbers}
        values = {k: (0 if v is None else v) for k, v in row.items()}
        out["detector"].append(detector)
        out["entity"].append(str(row["entity"]))
        out["entity_kind"].append(str(row["entity_kind"]))
        out["ips"].append(row.get("ips") or "")
        out["names"].append(row.get("names") or "")
        out["external"].append(row.get("external") or "")
        out["first_ts"].append(int(row.get("first_ts") or 0))
        out["last_ts"].append(int(row.get("last_ts") or 0))
        out["events"].append(int(row.get("events") or 0))
        out["score"].append(round(score, 4))
        out["numbers"].append(json.dumps(nums, sort_keys=True))
        out["summary"].append(template.format(**values))
    return pa.table(out, schema=FINDING_SCHEMA)


def empty_findings() -> pa.Table:
    return FINDING_SCHEMA.empty_table()


def hours(seconds: float) -> float:
    return seconds / 3600.0


def volume_findings(
    ctx: Context, history_sql: str, query_file: str, what, **tables: str
) -> pa.Table:
    """A source's records today against its usual count on earlier days (every data type's
    `volume` query); `what(row)` names what was counted."""
    t = thresholds()["volume"]
    if not ctx.history:
        return findings("volume", [], template="", score_of=lambda r: 0, numbers=())
    params = {"min_records": t["min_records"], "min_ratio": t["ratio_thresholds"]["base"],
              "limit": limit()}  # fmt: skip
    rows = ctx.rows(query_file, "volume", params, history=history_sql, **tables)
    for r in rows:
        r.update(entity=r["src"], entity_kind="host", external="", ips=r["src"], events=r["n"],
                 what=what(r))  # fmt: skip
    return findings("volume", rows, template=t["summary"],
                    score_of=lambda r: bucketed(r["ratio"], t["ratio_thresholds"]),
                    numbers=("n", "usual", "days", "ratio"))  # fmt: skip
