"""The numbers the severity modifiers need (spot_lab.detect.triage), for the outside parties
of the day's findings only: internal hosts reaching each (prevalence), the earliest earlier
day the lake saw it (first seen), the domains whose answers no flow reached, the clients of
each flagged domain or web host, and which scan sources are public addresses."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from spot_lab.detect import dns, flow, proxy
from spot_lab.detect.base import Context
from spot_lab.detect.triage import Modifiers
from spot_lab.engines import worktables as sqlrun
from spot_lab.engines.days import available_days
from spot_lab.errors import SpotLabError

_EVENTS = {"flow": flow.OUT, "dns": dns.DAY, "proxy": proxy.DAY}
MAX_CLIENTS = 100  # IPs listed per flagged domain or web host


def gather(ctx: Context, found: pa.Table, hist: str, candidates: str) -> Modifiers:
    mods = Modifiers(history=list(ctx.history), day=ctx.day)
    externals = sorted({x for x in found["external"].to_pylist() if x})
    mods.internal_count = _internal_count(ctx)
    if not externals:
        return mods
    sqlrun.push(ctx.engine, candidates, pa.table({"ip": pa.array(externals, pa.string())}))
    try:
        concern, events = f"detect_{ctx.data_type}", _EVENTS[ctx.data_type]
        table = ctx.run(
            concern, "prevalence", candidates=candidates, outbound=events, events=events
        )
        mods.prevalence = dict(zip(table["external"].to_pylist(), table["hosts"].to_pylist(),
                                   strict=True))  # fmt: skip
        if ctx.history:
            table = ctx.run(concern, "first_seen", candidates=candidates, history=hist)
            mods.first_day = dict(zip(table["external"].to_pylist(),
                                      [int(v) for v in table["first_day"].to_pylist()], strict=True))  # fmt: skip
        if ctx.data_type == "dns":
            _dns_parties(ctx, mods, candidates)
        if ctx.data_type == "proxy":
            _clients(ctx, mods, candidates, "host")
    finally:
        sqlrun.drop(ctx.engine, candidates)
    if ctx.data_type == "flow":
        hosts = set(ctx.engine.arrow(f"SELECT ip FROM {ctx.hosts}")["ip"].to_pylist())
        mods.public = {e for e, k in zip(found["entity"].to_pylist(),
                                         found["entity_kind"].to_pylist(), strict=True)
                       if k == "host" and e not in hosts}  # fmt: skip
    return mods


def _internal_count(ctx: Context) -> int:
    if ctx.data_type == "flow":
        return ctx.internal_count
    events = _EVENTS[ctx.data_type]
    column = "client"
    n = ctx.engine.arrow(f"SELECT count(DISTINCT {column}) AS n FROM {events}")["n"][0].as_py()
    return int(n or 0)


def _dns_parties(ctx: Context, mods: Modifiers, candidates: str) -> None:
    _clients(ctx, mods, candidates, "domain")
    try:
        flow_days = set(available_days(ctx.engine, "flow"))
    except SpotLabError:  # a cluster database without Spot's flow table
        flow_days = set()
    if ctx.day not in flow_days:
        ctx.notes.append("no flows on this day: the no-direct-connection modifier is off")
        return
    params = {f"f{k}": v for k, v in {"y": ctx.day.year, "m": ctx.day.month,
                                      "d": ctx.day.day}.items()}  # fmt: skip
    table = ctx.run("detect_dns", "direct_connections", params, events=dns.DAY,
                    candidates=candidates)  # fmt: skip
    reached = set(table.filter(pc.greater(table["reached"], 0))["domain"].to_pylist())
    everything = set(ctx.engine.arrow(f"SELECT ip FROM {candidates}")["ip"].to_pylist())
    mods.unreached = everything - reached


def _clients(ctx: Context, mods: Modifiers, candidates: str, column: str) -> None:
    if ctx.data_type == "dns":
        table = ctx.run("detect_dns", "domain_clients", events=dns.DAY, candidates=candidates)
        key = "domain"
    else:
        sql = (f"SELECT e.host AS {column}, e.client, count(*) AS n FROM {proxy.DAY} AS e "
               f"JOIN {candidates} AS c ON c.ip = e.host GROUP BY e.host, e.client")  # fmt: skip
        table = ctx.engine.arrow(sql)
        key = column
    out: dict[str, list[tuple[int, str]]] = {}
    for row in table.to_pylist():
        out.setdefault(row[key], []).append((-int(row["n"]), row["client"]))
    mods.extra_ips = {k: [c for _, c in sorted(v)[:MAX_CLIENTS]] for k, v in out.items()}
