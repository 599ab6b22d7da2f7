"""The threats list and the dates with data: plain functions over an engine, no tornado.

The REST handlers (spot_lab.server.handlers) call these in a worker thread; the benchmark
and tests call them directly. One page is one bounded query plus one totals query, both
aggregated in the engine; only the page's rows (at most MAX_PAGE_SIZE) reach Python.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pyarrow as pa

from spot_lab import limits, queries
from spot_lab.config import SpotLab
from spot_lab.engines.base import Engine
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.enrich.netcontext import InternalRanges, internal_path, load_internal, parse_ips
from spot_lab.errors import InputError, SpotLabError
from spot_lab.investigation.analyst import day_params
from spot_lab.server.triage_page import has_triage, triage_page
from spot_lab.store.schema import DATA_TYPES

MAX_PAGE_SIZE = limits.limit("page_size")
DEFAULT_PAGE_SIZE = 50
MAX_QUERY = limits.limit("search")


def like_pattern(text: str) -> str:
    """A lower-case `%text%` LIKE pattern with LIKE's own characters escaped (ESCAPE '\\')."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def check_page(value: Any, name: str = "page", upper: int | None = None) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if number < 1 or (upper is not None and number > upper):
        limit = f" and at most {upper}" if upper else ""
        raise InputError(f"bad {name} {value!r}: use a whole number from 1{limit}")
    return number


def check_query(value: str | None) -> str:
    text = (value or "").strip()
    if len(text) > MAX_QUERY:
        raise InputError(f"search text too long ({len(text)} characters, at most {MAX_QUERY})")
    return text


def countries(
    ips: list[str], settings: SpotLab | None = None, lake: str | None = None
) -> dict[str, str]:
    """Country names of a page's distinct external IPs, each looked up once (spot_lab.enrich.geo)."""
    unique = sorted(set(ips))
    if not unique:
        return {}
    try:
        from spot_lab.enrich.geo import default_geolocator

        located = default_geolocator(settings, lake).locate(unique)
    except (SpotLabError, ImportError, OSError, ValueError):
        return {}  # no geolocation database: the list shows no country
    pairs = zip(located["ip"].tolist(), located["country"].tolist(), strict=True)
    return {ip: country for ip, country in pairs if isinstance(country, str) and country}


def run(engine: Engine, name: str, params: dict[str, Any]) -> pa.Table:
    """Run a query of server.yaml (sqltools.prepare renders each query once per process)."""
    return engine.arrow(queries.sql("server", name), params)


def _flow_rows(page: pa.Table) -> list[dict[str, Any]]:
    rows = []
    for r in page.to_pylist():
        src_in, dst_in = r["srcip_internal"] == 1, r["dstip_internal"] == 1
        # The anchor is the external side of a boundary-crossing flow, else the source.
        if src_in and not dst_in:
            anchor, peer, external = r["dstip"], r["srcip"], r["dstip"]
        elif dst_in and not src_in:
            anchor, peer, external = r["srcip"], r["dstip"], r["srcip"]
        else:
            anchor, peer = r["srcip"], r["dstip"]
            external = None if src_in and dst_in else r["srcip"]
        rows.append(
            {
                "rank": r["rank"],
                "anchor": anchor,
                "peer": peer,
                "time": r["tstart"],
                "score": r["ml_score"],
                "scope": "internal" if external is None else "external",
                "external_ip": external,
                "detail": f"{r['srcip']}:{r['sport']} -> {r['dstip']}:{r['dport']} {r['proto']}",
                "severity": r["sev"],
            }
        )
    return rows


def _in_user_domain(name: str | None, user_domain: str) -> bool:
    """A name is internal when one of its labels is the organisation's (Spot's USER_DOMAIN)."""
    return bool(user_domain) and user_domain.lower() in (name or "").lower().split(".")


def _dns_rows(page: pa.Table, user_domain: str) -> list[dict[str, Any]]:
    return [
        {
            "rank": r["rank"],
            "anchor": r["dns_qry_name"],
            "peer": r["ip_dst"],
            "time": r["frame_time"],
            "score": r["ml_score"],
            "scope": "internal" if _in_user_domain(r["dns_qry_name"], user_domain) else "external",
            "external_ip": None,
            "detail": r["tld"] or "",
            "severity": r["dns_sev"] or r["ip_sev"],
        }
        for r in page.to_pylist()
    ]


def _proxy_rows(page: pa.Table, user_domain: str, ranges: InternalRanges) -> list[dict[str, Any]]:
    records = page.to_pylist()
    # The outside party of a proxied request is the host (serverip is the proxy's own).
    hosts = [(r["host"] or "").split(":")[0].lower() for r in records]
    parsed = parse_ips(hosts)
    in_ranges = parsed.valid & ranges.is_internal(parsed)  # Spot's ipranges.csv + private
    rows = []
    for r, host, literal, in_range in zip(records, hosts, parsed.valid, in_ranges, strict=True):
        internal = bool(in_range) or _in_user_domain(host, user_domain)
        rows.append(
            {
                "rank": r["rank"],
                "anchor": r["fulluri"],
                "peer": r["clientip"],
                "time": f"{r['tdate']} {r['time']}".strip(),
                "score": r["ml_score"],
                "scope": "internal" if internal else "external",
                "external_ip": host if literal and not internal else None,
                "detail": r["host"] or "",
                "severity": r["sev"],
            }
        )
    return rows


def _shape(data_type: str, page: pa.Table, settings: SpotLab | None, lake: str | None):
    """The page's rows as the sidebar shows them."""
    if data_type == "flow":
        return _flow_rows(page)
    domain = settings.user_domain if settings else ""
    if data_type == "dns":
        return _dns_rows(page, domain)
    return _proxy_rows(page, domain, _internal_ranges(settings, lake))


def _internal_ranges(settings: SpotLab | None, lake: str | None) -> InternalRanges:
    """SpotLab.internal_ranges, else the lake's context/ipranges.csv (the engine's lake, else
    SpotLab.lake, as the geolocator finds it); private and special ranges always."""
    root = lake or (settings.lake if settings else "")
    if settings is None or not (root or settings.internal_ranges):
        return InternalRanges()
    return load_internal(internal_path(settings, root))


def threats_page(
    engine: Engine,
    data_type: str,
    day: dt.date,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
    q: str = "",
    settings: SpotLab | None = None,
) -> dict[str, Any]:
    """One page of the day's threats: the triage list (`<type>_threats`, one row per entity,
    spot_lab.detect) when the day has one, else Spot's flagged rows; with the analyst scores
    of that day and totals."""
    params = {**day_params(day), "q": q, "pattern": like_pattern(q)}
    lake = str(engine.lake.root) if isinstance(engine, DuckDBEngine) else None
    source = f"{data_type}_scores"
    if has_triage(engine, data_type, day):
        ranges = _internal_ranges(settings, lake)
        got = triage_page(engine, data_type, day, params, page, page_size, ranges)
        total, matched, scored, rows, source = (got[k] for k in ("total", "matched", "scored",
                                                                  "rows", "source"))  # fmt: skip
    else:
        total, matched, scored, rows = _flagged(engine, data_type, params, page, page_size,
                                                settings, lake)  # fmt: skip
    found = countries([r["external_ip"] for r in rows if r["external_ip"]], settings, lake)
    for row in rows:
        row["country"] = found.get(row.pop("external_ip") or "", None)
        if row["score"] is not None and source.endswith("_scores"):  # float32: its digits
            row["score"] = float(f"{row['score']:.6g}")
    return {
        "type": data_type,
        "date": day.isoformat(),
        "q": q,
        "page": page,
        "page_size": page_size,
        "pages": max(1, math.ceil(matched / page_size)),
        "total": total,
        "matched": matched,
        "scored": scored,
        "source": source,
        "rows": rows,
    }


def _flagged(engine, data_type, params, page, page_size, settings, lake):
    """(total, matched, scored, rows) of Spot's flagged rows (`<type>_scores`)."""
    totals = run(engine, f"threats_{data_type}_totals", params)
    total, matched, scored = (totals[c][0].as_py() or 0 for c in ("total", "matched", "scored"))
    offset = (page - 1) * page_size
    rows: list[dict[str, Any]] = []
    if offset < matched:
        table = run(
            engine, f"threats_{data_type}", {**params, "limit": page_size, "offset": offset}
        )
        rows = _shape(data_type, table, settings, lake)
    return total, matched, scored, rows


def dates(engine: Engine) -> dict[str, Any]:
    """Days with raw data and with flagged rows, per type, oldest first."""
    out: dict[str, Any] = {}
    for data_type in DATA_TYPES:
        scores = f"{data_type}_scores"
        if isinstance(engine, DuckDBEngine):
            raw = engine.lake.days(data_type)
            scored = engine.lake.days(scores)
        else:
            sql = queries.sql("server", "scored_days").format(table=scores)
            table = engine.arrow(sql)
            scored = sorted(dt.date(r["y"], r["m"], r["d"]) for r in table.to_pylist())
            raw = scored
        out[data_type] = {
            "raw": [d.isoformat() for d in raw],
            "scored": [d.isoformat() for d in scored],
        }
    latest = {t: (v["scored"] or v["raw"] or [None])[-1] for t, v in out.items()}
    return {"types": out, "latest": latest}
