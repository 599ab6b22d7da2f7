"""The numbers the severity modifiers need (spot_lab.detect.triage), for the outside parties
of the day's findings only: internal hosts reaching each (prevalence), the earliest earlier
day the lake saw it (first seen), the domains whose answers no flow reached, the clients of
each flagged domain or web host, and which scan sources are public addresses."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from spot_lab.detect import dns, flow, proxy
from spot_lab.detect.base import Context, thresholds
from spot_lab.detect.triage import Modifiers
from spot_lab.engines import worktables as sqlrun
from spot_lab.engines.days import available_days
from spot_lab.enrich.netcontext import is_ip
from spot_lab.errors import SpotLabError

_EVENTS = {"flow": flow.OUT, "dns": dns.DAY, "proxy": proxy.DAY}
MAX_CLIENTS = 100  # IPs listed per flagged domain or web host


def gather(ctx: Context, found: pa.Table, hist: str, candidates: str) -> Modifiers:
    from spot_lab.detect import known

    mods = Modifiers(history=list(ctx.history), day=ctx.day)
    mods.allowed = known.allowlist(ctx.settings, ctx.data_type)
    externals = sorted({x for x in found["external"].to_pylist() if x})
    mods.internal_count = _internal_count(ctx)
    if ctx.data_type == "flow":  # host entities (scanners, guessers) that are public addresses
        hosts = set(ctx.engine.arrow(f"SELECT ip FROM {ctx.hosts}")["ip"].to_pylist())
        mods.public = {e for e, k in zip(found["entity"].to_pylist(),
                                         found["entity_kind"].to_pylist(), strict=True)
                       if k == "host" and e not in hosts}  # fmt: skip
    if not externals:
        return mods
    addresses = [x for x in externals if is_ip(x)]
    names = [x for x in externals if not is_ip(x)]
    _popular(ctx, mods, addresses, names, candidates)
    concern, events = f"detect_{ctx.data_type}", _EVENTS[ctx.data_type]
    parties = addresses if ctx.data_type == "flow" else externals
    if parties:
        sqlrun.push(ctx.engine, candidates, pa.table({"ip": pa.array(parties, pa.string())}))
        try:
            table = ctx.run(concern, "prevalence", candidates=candidates, outbound=events,
                            events=events)  # fmt: skip
            mods.prevalence = _pairs(table, "external", "hosts")
            if ctx.history:
                table = ctx.run(concern, "first_seen", candidates=candidates, history=hist)
                mods.first_day = {
                    k: int(v) for k, v in _pairs(table, "external", "first_day").items()
                }
            if ctx.data_type == "dns":
                _dns_parties(ctx, mods, candidates)
            if ctx.data_type == "proxy":
                _clients(ctx, mods, candidates, "host")
        finally:
            sqlrun.drop(ctx.engine, candidates)
    if ctx.data_type == "flow" and names:
        _flow_names(ctx, mods, names, candidates)
    return mods


def _pairs(table: pa.Table, key: str, value: str) -> dict:
    return dict(zip(table[key].to_pylist(), table[value].to_pylist(), strict=True))


def _popular(ctx: Context, mods: Modifiers, addresses, names, candidates: str) -> None:
    """Names whose registered domain is a top site; addresses all of whose answered names are."""
    from spot_lab.detect import known

    rank = int(thresholds()["severity"]["popular_rank"])
    lake = getattr(ctx.engine, "lake", None)
    top = known.top_sites(known.top_sites_path(ctx.settings, lake.root if lake else None), rank)
    if not top:
        return
    mods.popular = {n for n in names if known.is_popular(n, top)}
    if ctx.data_type != "flow" or not addresses:
        return
    from spot_lab.detect.flow import ANSWERS

    sqlrun.push(ctx.engine, candidates, pa.table({"ip": pa.array(addresses, pa.string())}))
    try:
        table = ctx.run("detect_flow", "answer_names", candidates=candidates, answers=ANSWERS)
    finally:
        sqlrun.drop(ctx.engine, candidates)
    named: dict[str, list[str]] = {}
    for ip, name in zip(table["ip"].to_pylist(), table["name"].to_pylist(), strict=True):
        named.setdefault(ip, []).append(name)
    mods.popular |= {ip for ip, ns in named.items() if all(known.is_popular(n, top) for n in ns)}


def _flow_names(ctx: Context, mods: Modifiers, names: list[str], candidates: str) -> None:
    """Prevalence and first seen of the names flow findings name (FQDN beacons): the hosts
    that reached them by their answers today; the earliest earlier day DNS asked them."""
    from spot_lab.detect.flow import ANSWERS, OUT

    sqlrun.push(ctx.engine, candidates, pa.table({"ip": pa.array(names, pa.string())}))
    try:
        table = ctx.run("detect_flow", "name_prevalence", candidates=candidates, outbound=OUT,
                        answers=ANSWERS)  # fmt: skip
        mods.prevalence = {**mods.prevalence, **_pairs(table, "external", "hosts")}
        dns_history, params = _dns_history(ctx)
        if dns_history:
            sql = ctx.sql("detect_flow", "name_first_seen", candidates=candidates,
                          dns_history=dns_history)  # fmt: skip
            table = ctx.engine.arrow(sql, params)
            first = {k: int(v) for k, v in _pairs(table, "external", "first_day").items()}
            mods.first_day = {**mods.first_day, **first}
    finally:
        sqlrun.drop(ctx.engine, candidates)


def _dns_history(ctx: Context) -> tuple[str, dict]:
    """A y/m/d predicate over the DNS days of the history window (and its bound values)."""
    if not ctx.history:
        return "", {}
    lo = min(ctx.history)
    try:
        days = [d for d in available_days(ctx.engine, "dns") if lo <= d < ctx.day]
    except SpotLabError:
        return "", {}
    params, parts = {}, []
    for i, d in enumerate(sorted(days)):
        params.update({f"dhy{i}": d.year, f"dhm{i}": d.month, f"dhd{i}": d.day})
        parts.append(f"(y = :dhy{i} AND m = :dhm{i} AND d = :dhd{i})")
    return " OR ".join(parts), params


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
