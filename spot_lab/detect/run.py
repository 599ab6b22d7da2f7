"""detect_day: every detector of one type over one day, combined into `<type>_threats`.

Steps: the day's span and its non-public addresses (classified once, pushed as a small
table); the lake's earlier days (for first-seen, lateral movement, history baselines); the
type's working table staged once; each chosen detector in turn (one failing on an engine
becomes a note, the others still run); the modifiers; the triage list (spot_lab.detect.triage).
On the embedded engine DuckDB's memory is capped and spills to a temporary folder, as the
IP index does (spot_lab.store.ipindex).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from spot_lab.detect import dns, flow, lda, proxy
from spot_lab.detect.base import CANDIDATES, FINDING_SCHEMA, HOSTS, Context, thresholds
from spot_lab.detect.hosts import classify
from spot_lab.detect.triage import Modifiers, combine, to_table
from spot_lab.engines import worktables as sqlrun
from spot_lab.engines.base import Engine
from spot_lab.errors import InputError, SpotLabError
from spot_lab.store.schema import day_partition

DETECT_MEMORY = "1500MB"  # DuckDB's memory for the detectors (spills beyond, as ipindex.py)

# name -> function(ctx, history_sql); "lda" is the model's own rows (see detect_day)
DETECTORS: dict[str, dict[str, Callable]] = {
    "flow": {
        "beacon": lambda c, h: flow.beacon(c),
        "beacon_fqdn": lambda c, h: flow.beacon_fqdn(c),
        "strobe": lambda c, h: flow.strobe(c),
        "long_connection": flow.long_connection,
        "scan": lambda c, h: flow.scan(c),
        "brute_force": lambda c, h: flow.brute_force(c),
        "lateral": flow.lateral,
        "exfiltration": flow.exfiltration,
        "volume": flow.volume,
        "policy": lambda c, h: flow.policy(c),
    },
    "dns": {
        "dns_tunnel": lambda c, h: dns.tunnel(c),
        "dga": lambda c, h: dns.dga(c),
        "volume": dns.volume,
    },
    "proxy": {
        "proxy_beacon": lambda c, h: proxy.beacon(c),
        "upload": lambda c, h: proxy.posts(c),
        "phishing": lambda c, h: proxy.phishing(c),
        "volume": proxy.volume,
    },
}


def names_of(data_type: str) -> list[str]:
    return [*DETECTORS[data_type], "lda"]


def choose(data_type: str, wanted: Iterable[str] | str | None) -> list[str]:
    """The detectors to run: all by default, else the named ones (InputError for unknown)."""
    known = names_of(data_type)
    if wanted is None:
        return known
    items = [w.strip() for w in (wanted.split(",") if isinstance(wanted, str) else wanted)]
    items = [w for w in items if w]
    unknown = [w for w in items if w not in known]
    if unknown or not items:
        raise InputError(
            f"unknown {data_type} detector(s) {', '.join(unknown) or '(none given)'}: "
            f"use a comma-separated list of {', '.join(known)}"
        )
    return items


@dataclass
class DetectResult:
    data_type: str
    day: dt.date
    threats: pa.Table
    findings: pa.Table
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def detect_day(
    engine: Engine,
    data_type: str,
    day: dt.date,
    *,
    detectors: Iterable[str] | str | None = None,
    scores: pa.Table | None = None,
    settings=None,
    step: Callable[[str], None] | None = None,
) -> DetectResult:
    """Run the chosen detectors on one day and build the triage list (nothing is written).
    `scores`: the day's `<type>_scores` rows, for the LDA detector."""
    chosen = choose(data_type, detectors)
    if settings is None:
        from spot_lab.config import load_settings

        settings = load_settings()
    timings: dict[str, float] = {}
    with sqlrun.bounded(engine, DETECT_MEMORY):
        ctx, dropped = _context(engine, data_type, day, settings)
        try:
            dropped += _stage(ctx)
            parts, hist = [], _history_sql(ctx)
            for name in chosen:
                started = time.perf_counter()
                parts.append(_one(ctx, name, hist, scores))
                timings[name] = time.perf_counter() - started
                if step:
                    step(f"detector {name}")
            found = pa.concat_tables(parts) if parts else FINDING_SCHEMA.empty_table()
            rows = combine(found, _modifiers(ctx, found, hist))
        finally:
            sqlrun.drop(engine, *dropped)
    return DetectResult(data_type, day, to_table(data_type, rows), found, ctx.notes, timings)


def _one(ctx: Context, name: str, hist: str, scores: pa.Table | None) -> pa.Table:
    if name == "lda":
        if scores is None:
            ctx.notes.append("lda: no model scores for this day (run spot-lab score)")
        return lda.lda(ctx.data_type, scores)
    try:
        return DETECTORS[ctx.data_type][name](ctx, hist)
    except SpotLabError as exc:  # e.g. a SQL feature a cluster engine lacks
        ctx.notes.append(f"{name}: did not run: {exc}")
        return FINDING_SCHEMA.empty_table()


def _lake_root(engine: Engine, settings) -> Path:
    lake = getattr(engine, "lake", None)
    return lake.root if lake is not None else Path(settings.lake).expanduser()


def _context(engine: Engine, data_type: str, day: dt.date, settings) -> tuple[Context, list[str]]:
    from spot_lab.enrich.netcontext import internal_path, load_internal

    params = dict(day_partition(data_type, day))
    probe = Context(engine, data_type, day, params, HOSTS, 0, 0, 0, settings=settings)
    if data_type == "proxy":
        rows = "(" + proxy.rows_sql(probe) + ")"  # binds :day_epoch into params
        span_sql = probe.sql("detect_proxy", "day_span", day_rows=rows)
        sqlrun.push(engine, HOSTS, pa.table({"ip": pa.array([], pa.string()),
                                             "kind": pa.array([], pa.string())}))  # fmt: skip
        span = engine.arrow(span_sql, params).to_pylist()[0]
    else:
        span = probe.run(f"detect_{data_type}", "day_span").to_pylist()[0]
    if not span["n"]:
        sqlrun.drop(engine, HOSTS)
        raise InputError(f"no {data_type} events on {day} to run the detectors on")
    ips = probe.run(f"detect_{data_type}", "day_ips")
    ranges = load_internal(internal_path(settings, _lake_root(engine, settings)))
    hosts = classify(ips["ip"], ranges)
    if "first_ts" in ips.column_names:  # flows: when each host was seen (beacon histograms)
        ips = ips.set_column(0, "ip", ips["ip"].cast(pa.string()))
        hosts = hosts.join(ips, "ip")
    sqlrun.push(engine, HOSTS, hosts)
    internal = int(pa.compute.sum(pa.compute.equal(hosts["kind"], "internal")).as_py() or 0)
    ctx = Context(engine, data_type, day, params, HOSTS, int(span["first_ts"]),
                  int(span["last_ts"]), internal, _history(engine, data_type, day), settings)  # fmt: skip
    return ctx, [HOSTS]


def _history(engine: Engine, data_type: str, day: dt.date) -> list[dt.date]:
    from spot_lab.engines.days import available_days

    back = int(thresholds()["severity"]["history_days"])
    days = [
        d for d in available_days(engine, data_type) if day - dt.timedelta(days=back) <= d < day
    ]
    return sorted(days, reverse=True)


def _history_sql(ctx: Context) -> str:
    """A y/m/d predicate selecting the earlier days (values bound: :hy0, :hm0, :hd0, ...)."""
    return ctx.days_sql(ctx.history)


def _stage(ctx: Context) -> list[str]:
    if ctx.data_type == "flow":
        sqlrun.stage(ctx.engine, flow.OUT, flow.outbound_sql(ctx), ctx.params)
        return [flow.OUT, flow.stage_answers(ctx)]
    if ctx.data_type == "dns":
        return dns.stage_day(ctx)
    return proxy.stage_day(ctx)


def _modifiers(ctx: Context, found: pa.Table, hist: str) -> Modifiers:
    from spot_lab.detect.modifiers import gather

    return gather(ctx, found, hist, CANDIDATES)
