"""Analyst scores (1 High, 2 Medium, 3 Low): validated, written in Spot's format, durable.

One code path for the sidebar (through the Jupyter server) and the `%spot_threat` widget
(in the kernel): `record_score(target, data_type, day, anchor, severity)`.

A score selects the day's `<type>_scores` rows of the anchor (reference 2.3-2.5 step 4) and
writes `<type>_threat_investigation` rows in Spot's columns:
- flow: (tstart, srcip, dstip, srcport, dstport, score), anchor = an IP (source or destination);
- dns: (unix_tstamp, ip_dst, dns_qry_name, ip_sev, dns_sev), anchor = a client IP or a query name;
- proxy: (tdate, fulluri, uri_sev), anchor = a full URI.
Unlike Spot (which appended), a new score replaces the earlier score of the same rows, so
re-scoring changes the answer instead of piling up contradicting rows. Each score also
records feedback for the model (schema.FEEDBACK_COLUMNS, one CSV per day,
spot_lab.scoring.feedback), one row per event, the latest score's.

One write path, validated, all or nothing, idempotent: everything is checked first (type,
date, severity, anchor, the day's flagged rows, the existing feedback file); then, holding
both locks (a kernel and the server scoring at once both keep their rows), the new
partition and the new feedback file are written to temporary files and renamed in
together. A failure before the renames changes nothing; a retry after a crash between
them writes the same rows again, never a second copy.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from spot_lab import limits, queries
from spot_lab.dates import parse_date
from spot_lab.engines.base import Engine
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.enrich.netcontext import parse_ips
from spot_lab.errors import InputError, SpotLabError
from spot_lab.scoring import feedback
from spot_lab.store.lake import Lake
from spot_lab.store.schema import (
    FEEDBACK_COLUMNS,
    SEVERITIES,
    TABLES,
    check_data_type,
    day_partition,
)

MAX_ANCHOR = limits.limit("anchor")

# The key columns of each `<type>_threat_investigation` row (one score per key).
_KEYS = {
    "flow": ("tstart", "srcip", "dstip", "srcport", "dstport"),
    "dns": ("unix_tstamp", "ip_dst", "dns_qry_name"),
    "proxy": ("tdate", "fulluri"),
}


def check_severity(value: Any) -> int:
    """1, 2 or 3 (High, Medium, Low), from an int or its text; InputError otherwise."""
    if isinstance(value, bool):
        value = None
    try:
        severity = int(str(value).strip())
    except ValueError:
        severity = None
    if severity not in SEVERITIES:
        raise InputError(f"bad severity {value!r}: use 1 (High), 2 (Medium) or 3 (Low)")
    return severity


def check_type(value: Any) -> str:
    """flow, dns or proxy (schema.check_data_type); InputError otherwise."""
    try:
        return check_data_type(value)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def check_anchor(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError("missing anchor: give the IP, query name or URI to score")
    return limits.text(value, "anchor", "the anchor").strip()


def _lake_and_engine(target: Engine | Lake | str | os.PathLike) -> tuple[Lake, Engine]:
    if isinstance(target, DuckDBEngine):
        return target.lake, target
    if isinstance(target, Engine):
        raise InputError(
            f"analyst scores are written to the embedded lake; {target.kind} engines are "
            "read-only here: connect to a lake folder (SPOT_LAB_LAKE) to score"
        )
    lake = target if isinstance(target, Lake) else Lake(target)
    return lake, DuckDBEngine(lake)


def day_params(day: dt.date) -> dict[str, int | str]:
    """The :y :m :d values of a derived (OA) table's day partition."""
    return day_partition("flow_scores", day)  # every OA table has the same numeric partitions


def matching_rows(engine: Engine, data_type: str, day: dt.date, anchor: str) -> pa.Table:
    """The day's flagged rows an analyst score of `anchor` applies to."""
    sql = queries.sql("server", f"score_rows_{data_type}")
    return engine.arrow(sql, {**day_params(day), "anchor": anchor})


def _investigation_rows(data_type: str, rows: pa.Table, severity: int, day: dt.date) -> pa.Table:
    """Spot's `<type>_threat_investigation` rows for the matching `<type>_scores` rows."""
    n = rows.num_rows
    sev = pa.array([severity] * n, pa.int32())
    if data_type == "flow":
        data = {
            "tstart": rows["tstart"],
            "srcip": rows["srcip"],
            "dstip": rows["dstip"],
            "srcport": rows["sport"],
            "dstport": rows["dport"],
            "score": sev,
        }
    elif data_type == "dns":
        zero = pa.array([0] * n, pa.int32())
        data = {
            "unix_tstamp": rows["unix_tstamp"],
            "ip_dst": rows["ip_dst"],
            "dns_qry_name": rows["dns_qry_name"],
            "ip_sev": pc.if_else(rows["ip_match"], sev, zero),
            "dns_sev": pc.if_else(rows["query_match"], sev, zero),
        }
    else:
        data = {
            "tdate": pa.array([day.isoformat()] * n, pa.string()),
            "fulluri": rows["fulluri"],
            "uri_sev": sev,
        }
    table = TABLES[f"{data_type}_threat_investigation"]
    return pa.table(data).cast(table.arrow_schema)


def _threats_naming(engine: Engine, data_type: str, day: dt.date, anchor: str) -> pa.Table:
    """The day's triage threats of `anchor`; InputError when there is none either."""
    table = f"{data_type}_threats"
    try:
        found = engine.arrow(queries.render("server", "threats_naming", table=table),
                             {**day_params(day), "anchor": anchor})  # fmt: skip
    except SpotLabError:  # a cluster without the triage table: as before, nothing to score
        found = pa.table({"entity": pa.array([], pa.string())})
    if found.num_rows == 0:
        raise InputError(
            f"no flagged {data_type} row for {anchor!r} on {day}: "
            "score an anchor from that day's threats list"
        )
    return found


def _verdict_rows(data_type: str, threats: pa.Table, anchor: str, severity: int,
                  day: dt.date) -> pa.Table:  # fmt: skip
    """Spot's `<type>_threat_investigation` rows for threats without a flagged event: one per
    threat, in Spot's columns, keyed by the entity (flow: both sides of a pair, no ports;
    dns: the client IP or the name; proxy: the web host as the URI)."""
    n = threats.num_rows
    sev = pa.array([severity] * n, pa.int32())
    if data_type == "flow":
        sides = [(e.split(" -> ") + [""])[:2] if " -> " in e else [anchor, ""]
                 for e in threats["entity"].to_pylist()]  # fmt: skip
        data = {"tstart": threats["first_seen"], "srcip": [a for a, _ in sides],
                "dstip": [b for _, b in sides], "srcport": pa.nulls(n, pa.int32()),
                "dstport": pa.nulls(n, pa.int32()), "score": sev}  # fmt: skip
    elif data_type == "dns":
        is_ip = parse_ips([anchor]).valid[0]
        zero = pa.array([0] * n, pa.int32())
        data = {"unix_tstamp": pa.nulls(n, pa.int64()), "ip_dst": [anchor if is_ip else ""] * n,
                "dns_qry_name": ["" if is_ip else anchor] * n,
                "ip_sev": sev if is_ip else zero, "dns_sev": zero if is_ip else sev}  # fmt: skip
    else:
        data = {"tdate": [day.isoformat()] * n, "fulluri": [anchor] * n, "uri_sev": sev}
    return pa.table(data).cast(TABLES[f"{data_type}_threat_investigation"].arrow_schema)


def _dedupe(table: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    """One row per key, the last one winning."""
    if table.num_rows == 0:
        return table
    indexed = table.append_column("__i", pa.array(range(table.num_rows), pa.int64()))
    last = indexed.group_by(list(keys), use_threads=False).aggregate([("__i", "max")])
    return table.take(pc.sort_indices(last["__i_max"]))


def _merge(data_type: str, current: pa.Table, new: pa.Table) -> pa.Table:
    """Upsert `new` into the partition's rows by key (dns merges ip_sev and dns_sev)."""
    keys = _KEYS[data_type]
    new = _dedupe(new, keys)
    if data_type == "dns" and current.num_rows:
        # A query score must not erase the client IP's score of the same row, and vice versa.
        old = _dedupe(current, keys).select([*keys, "ip_sev", "dns_sev"])
        old = old.rename_columns([*keys, "old_ip", "old_dns"])
        joined = new.join(old, list(keys), join_type="left outer", use_threads=False)
        merged = {k: joined[k] for k in keys}
        for col, previous in (("ip_sev", "old_ip"), ("dns_sev", "old_dns")):
            fresh = joined[col]
            merged[col] = pc.fill_null(pc.if_else(pc.equal(fresh, 0), joined[previous], fresh), 0)
        new = pa.table(merged).cast(new.schema)
    if current.num_rows:
        new_keys = new.select(list(keys))
        stale = current.join(
            new_keys.append_column("__new", pa.array([True] * new.num_rows)),
            list(keys),
            join_type="left outer",
            use_threads=False,
        )
        current = stale.filter(pc.is_null(stale["__new"])).drop_columns(["__new"])
        current = current.select(new.column_names)
    return pa.concat_tables([current, new]) if current.num_rows else new


def _feedback_rows(data_type: str, rows: pa.Table, severity: int) -> pa.Table:
    columns = FEEDBACK_COLUMNS[data_type]
    out = {"sev": pa.array([severity] * rows.num_rows, pa.int32())}
    for name in columns[1:]:
        out[name] = rows[name]
    return pa.table(out)


def record_score(
    target: Engine | Lake | str | os.PathLike,
    data_type: str,
    day: str | dt.date,
    anchor: str,
    severity: int | str,
) -> int:
    """Score `anchor` on `day`; return the number of threat-investigation rows written.

    Raises InputError (and writes nothing) for a bad type, date or severity, or an anchor
    with no flagged row that day.
    """
    data_type = check_type(data_type)
    day = parse_date(day)
    severity = check_severity(severity)
    anchor = check_anchor(anchor)
    lake, engine = _lake_and_engine(target)
    rows = matching_rows(engine, data_type, day, anchor)
    if rows.num_rows:
        new = _investigation_rows(data_type, rows, severity, day)
    else:  # a threat only the detectors found: its verdict, and no event for the model to learn
        threats = _threats_naming(engine, data_type, day, anchor)
        new = _verdict_rows(data_type, threats, anchor, severity, day)
    fresh = feedback.new_rows(data_type, _feedback_rows(data_type, rows, severity).to_pandas())
    table_name = f"{data_type}_threat_investigation"
    fb_file = feedback.feedback_path(lake.root, data_type, day)
    with lake.locks(table_name, feedback.lock_name(data_type)), lake.staged() as batch:
        text = feedback.merged_text(fb_file, data_type, fresh)  # a bad file: nothing written
        lake.stage_update(batch, table_name, day, lambda cur: _merge(data_type, cur, new))
        batch.text(fb_file, text)
    return new.num_rows


def analyst_scores(
    target: Engine | Lake | str | os.PathLike, data_type: str, day: str | dt.date
) -> pa.Table:
    """The day's `<type>_threat_investigation` rows (any engine)."""
    data_type = check_type(data_type)
    day = parse_date(day)
    engine = target if isinstance(target, Engine) else _lake_and_engine(target)[1]
    return engine.arrow(queries.sql("server", f"analyst_scores_{data_type}"), day_params(day))


def severity_of(
    target: Engine | Lake | str | os.PathLike, data_type: str, day: str | dt.date, anchor: str
) -> int | None:
    """The most severe analyst score given to `anchor` on `day` (None when unscored)."""
    rows = analyst_scores(target, data_type, day)
    if data_type == "flow":
        hit = pc.or_(pc.equal(rows["srcip"], anchor), pc.equal(rows["dstip"], anchor))
        values = rows.filter(hit)["score"]
    elif data_type == "dns":
        ip = rows.filter(pc.equal(rows["ip_dst"], anchor))["ip_sev"]
        query = rows.filter(pc.equal(rows["dns_qry_name"], anchor))["dns_sev"]
        values = pa.chunked_array([*ip.chunks, *query.chunks], pa.int32())
        values = values.filter(pc.greater(values, 0))
    else:
        values = rows.filter(pc.equal(rows["fulluri"], anchor))["uri_sev"]
    best = pc.min(values).as_py() if len(values) else None
    return best
