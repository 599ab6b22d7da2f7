"""One page of the day's triage list (`<type>_threats`, spot_lab.detect) as the sidebar lists it.

Each row keeps the sidebar's fields (rank, anchor, peer, time, score, scope, country, detail,
severity) and adds the threat's own: entity, kind, category and the detectors that fired.
`anchor` is what `%spot_threat` investigates: the outside address of a host pair (else its
source), the host, the registered domain, the web host. `score` is the threat's severity
(higher is worse); `severity` stays the analyst's score (1 High, 2 Medium, 3 Low).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from spot_lab import queries
from spot_lab.engines.base import Engine
from spot_lab.enrich.netcontext import InternalRanges, is_ip, parse_ips
from spot_lab.errors import SpotLabError
from spot_lab.store.schema import day_partition


def _sql(name: str, data_type: str) -> str:
    return queries.sql("server", name).replace("{table}", f"{data_type}_threats")


def has_triage(engine: Engine, data_type: str, day: dt.date) -> bool:
    lake = getattr(engine, "lake", None)
    if lake is not None:
        return day in lake.days(f"{data_type}_threats")
    try:  # a cluster: the table may not exist there
        params = dict(day_partition(f"{data_type}_threats", day)) | {"q": "", "pattern": "%"}
        totals = engine.arrow(_sql("threats_list_totals", data_type), params)
    except SpotLabError:
        return False
    return bool(totals["total"][0].as_py())


def _internal(ips: list[str], ranges: InternalRanges) -> dict[str, bool]:
    parsed = parse_ips(ips)
    inside = parsed.valid & ranges.is_internal(parsed)
    return dict(zip(ips, inside.tolist(), strict=True))


def _anchor(kind: str, entity: str, ips: list[str], internal: dict[str, bool]) -> tuple:
    """(anchor, peer, scope, external IP or None) of one threat."""
    if kind == "pair":
        a, _, b = entity.partition(" -> ")
        if not is_ip(b):  # a beacon to a name: investigate the host
            return a, b, "external", None
        a_in, b_in = internal.get(a, False), internal.get(b, False)
        if a_in and b_in:
            return a, b, "internal", None
        return (b, a, "external", b) if a_in else (a, b, "external", a)
    if kind == "host":
        scope = "internal" if internal.get(entity, False) else "external"
        return entity, "", scope, None if scope == "internal" else entity
    return entity, ips[0] if ips else "", "external", None


def triage_rows(page, ranges: InternalRanges, analyst: dict[str, int]) -> list[dict[str, Any]]:
    records = page.to_pylist()
    every_ip = sorted({ip for r in records for ip in (r["ips"] or "").split()}
                      | {p for r in records if r["entity_kind"] in ("pair", "host")
                         for p in r["entity"].split(" -> ") if is_ip(p)})  # fmt: skip
    internal = _internal(every_ip, ranges) if every_ip else {}
    rows = []
    for r in records:
        ips = (r["ips"] or "").split()
        anchor, peer, scope, external = _anchor(r["entity_kind"], r["entity"], ips, internal)
        detectors = [d["detector"] for d in json.loads(r["detectors"] or "[]")]
        score = r["severity"]
        rows.append({
            "rank": r["rank"], "anchor": anchor, "peer": peer, "time": r["first_seen"],
            "score": round(score, 4) if score is not None and math.isfinite(score) else None,
            "scope": scope, "external_ip": external, "detail": r["summary"],
            "severity": analyst.get(anchor) or analyst.get(peer),
            "entity": r["entity"], "kind": r["entity_kind"], "category": r["category"],
            "detectors": detectors, "events": r["events"], "last_seen": r["last_seen"],
        })  # fmt: skip
    return rows


def analyst_keys(engine: Engine, data_type: str, params: dict) -> dict[str, int]:
    """The day's analyst scores by anchor (IPs, names, URIs); empty when there are none."""
    try:
        table = engine.arrow(queries.sql("server", f"analyst_keys_{data_type}"), params)
    except SpotLabError:
        return {}
    out: dict[str, int] = {}
    for key, sev in zip(table["key"].to_pylist(), table["sev"].to_pylist(), strict=True):
        if key and sev:
            out[key] = min(int(sev), out.get(key, 9))
    return out


def triage_page(engine, data_type, day, params, page, page_size, ranges) -> dict[str, Any]:
    """The page's rows and counts (`params`: the day and the search's :q / :pattern)."""
    totals = engine.arrow(_sql("threats_list_totals", data_type), params)
    total, matched = (totals[c][0].as_py() or 0 for c in ("total", "matched"))
    analyst = analyst_keys(engine, data_type, {k: params[k] for k in ("y", "m", "d")})
    offset, rows = (page - 1) * page_size, []
    if offset < matched:
        table = engine.arrow(_sql("threats_list", data_type),
                             {**params, "limit": page_size, "offset": offset})  # fmt: skip
        rows = triage_rows(table, ranges, analyst)
    return {"total": total, "matched": matched, "scored": len(analyst), "rows": rows,
            "source": f"{data_type}_threats"}  # fmt: skip
