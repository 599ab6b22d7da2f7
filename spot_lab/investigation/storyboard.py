"""Storyboards: the analyst's title and text for a threat, saved the way Spot's
createStoryboard did (reference 2.3-2.5 step 6).

Saving upserts one row by anchor in `<type>_storyboard` (dns: `ip_threat` for a client IP,
`dns_threat` for a query name) and, when the investigation report is given, replaces the
anchor's `flow_timeline` / `proxy_timeline` / `dns_threat_dendro` rows. On the embedded lake
the tables' new partitions are staged under their locks and renamed in together (all or
nothing, idempotent: saving again replaces the anchor's rows); on a cluster the day
partition is read, changed and written back with INSERT OVERWRITE and bound values, as Spot
rewrote whole partitions. Storyboard rows are written last, so a saved title means the rest
is there too.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pandas as pd
import pyarrow as pa

from spot_lab import limits, queries
from spot_lab.dates import parse_date
from spot_lab.engines.days import range_params
from spot_lab.engines.sqltools import plain_value
from spot_lab.enrich.netcontext import is_ip
from spot_lab.errors import InputError
from spot_lab.investigation.analyst import check_type
from spot_lab.investigation.anchors import classify
from spot_lab.investigation.frames import epoch_text
from spot_lab.investigation.sql import query_sql
from spot_lab.store.lake import Lake, to_arrow
from spot_lab.store.schema import TABLES, day_partition

ANCHOR_COLUMN = {"flow_storyboard": "ip_threat", "proxy_storyboard": "p_threat",
                 "flow_timeline": "ip_threat", "proxy_timeline": "p_threat",
                 "dns_threat_dendro": "anchor"}  # fmt: skip
HTTP_REASONS = {
    "200": "OK", "201": "Created", "204": "No Content", "206": "Partial Content",
    "301": "Moved Permanently", "302": "Found", "304": "Not Modified", "400": "Bad Request",
    "401": "Unauthorized", "403": "Forbidden", "404": "Not Found", "407": "Proxy Authentication Required",
    "500": "Internal Server Error", "502": "Bad Gateway", "503": "Service Unavailable",
}  # fmt: skip
DENDRO_ROWS = 20  # Spot's threat.details limit for DNS


def save_storyboard(
    engine_or_lake: Any,
    data_type: str,
    day: str | dt.date,
    anchor: str,
    title: str,
    text: str,
    report: Any = None,
) -> None:
    """Upsert the storyboard of `anchor` on `day`, plus Spot's timeline / dendro rows."""
    data_type, day, anchor, title, text = check_storyboard(data_type, day, anchor, title, text)
    tables = {}
    if report is not None and not report.empty and report.data_type == data_type:
        tables.update(_derived_rows(report, anchor))
    # the storyboard row last: a saved title means the rest is there too
    tables[f"{data_type}_storyboard"] = _storyboard_row(data_type, anchor, title, text)
    target = _as_lake(engine_or_lake)
    lake = target if isinstance(target, Lake) else getattr(target, "lake", None)
    if isinstance(lake, Lake):
        _write_lake(lake, day, anchor, tables)
        return
    for table, rows in tables.items():
        _write_cluster(target, table, day, anchor, rows)


def check_storyboard(
    data_type: Any, day: Any, anchor: Any, title: Any, text: Any
) -> tuple[str, dt.date, str, str, str]:
    """The checked (type, day, anchor, title, text) of a storyboard: the anchor an IP, a
    DNS name or a URI of the type; title and text within their limits (limits.yaml)."""
    data_type = check_type(str(data_type))
    day = parse_date(day)
    if not isinstance(anchor, str) or not anchor.strip():
        raise InputError("empty anchor: say which IP, name or URI the storyboard is about")
    anchor = limits.text(anchor, "anchor", "the anchor").strip()
    classify(anchor, data_type)  # refuses SQL fragments, markup, anything not an anchor
    if not isinstance(title, str) or not title.strip():
        raise InputError("the storyboard needs a title: give a short one, e.g. 'C2 beaconing'")
    title = limits.text(title, "storyboard_title", "the storyboard's title")
    text = limits.text("" if text is None else text, "storyboard_text", "the storyboard's text",
                       lines=True)  # fmt: skip
    return data_type, day, anchor, title, text


def load_storyboard(
    engine_or_lake: Any, data_type: str, day: Any, anchor: str
) -> tuple[str, str] | None:
    """(title, text) saved for the anchor on `day` (or the latest in a (first, last) range)."""
    first, last = (day, day) if isinstance(day, (str, dt.date)) else day
    first, last = parse_date(first), parse_date(last)
    data_type = check_type(data_type)
    sql = query_sql(f"storyboard_{data_type}")
    rows = _engine(engine_or_lake).df(sql, range_params(first, last) | {"anchor": anchor})
    if rows.empty:
        return None
    title, text = rows["title"].iloc[0], rows["text"].iloc[0]
    # Spot's notebooks stored newlines as literal "\n" escapes (reference 7.2)
    return str(title or ""), str(text or "").replace("\\n", "\n")


# ---- the rows --------------------------------------------------------------------------------
def _storyboard_row(data_type: str, anchor: str, title: str, text: str) -> pd.DataFrame:
    row: dict[str, str] = {"title": str(title), "text": str(text or "")}
    if data_type == "dns":
        row["ip_threat"], row["dns_threat"] = (anchor, "") if is_ip(anchor) else ("", anchor)
    else:
        row[ANCHOR_COLUMN[f"{data_type}_storyboard"]] = anchor
    return pd.DataFrame([row])


def _derived_rows(report: Any, anchor: str) -> dict[str, pd.DataFrame]:
    """What Spot's createStoryboard wrote besides the title and text."""
    engine = report._engine
    params = range_params(report.first_day, report.last_day)

    def run(name: str, values: dict) -> pd.DataFrame:
        sql = query_sql(name, anchor="anchor_proxy_uri")  # proxy: by URI only
        return engine.df(sql, params | values)

    if report.data_type == "flow":
        rows = run("flow_storyboard_timeline", {"ip": anchor, "peers": report.top_peers or ["-"]})
        rows["tstart"], rows["tend"] = epoch_text(rows["tstart"]), epoch_text(rows["tend"])
        return {"flow_timeline": rows.assign(ip_threat=anchor)}
    if report.data_type == "proxy":
        if report.kind not in ("uri", "host"):
            return {}
        clients = report.clients["client"].head(report.top).tolist() or ["-"]
        rows = run("proxy_storyboard_timeline", {"uri": anchor, "clients": clients})
        names = rows["respcode"].astype(str).map(lambda c: HTTP_REASONS.get(c, f"Unknown ({c})"))
        return {"proxy_timeline": rows.assign(p_threat=anchor, respcodename=names)}
    if report.kind == "ip":
        top = report.queries.head(DENDRO_ROWS)
        rows = pd.DataFrame(
            {"total": top["total"], "dns_qry_name": top["dns_qry_name"], "ip_dst": anchor}
        )
    else:
        top = report.clients.head(DENDRO_ROWS)
        rows = pd.DataFrame(
            {"total": top["total"], "dns_qry_name": anchor, "ip_dst": top["client"]}
        )
    return {"dns_threat_dendro": rows.assign(anchor=anchor)}


def _keep_others(current: pd.DataFrame, table: str, anchor: str) -> pd.DataFrame:
    if table == "dns_storyboard":
        mine = (current["ip_threat"] == anchor) | (current["dns_threat"] == anchor)
    else:
        mine = current[ANCHOR_COLUMN[table]] == anchor
    return current[~mine.fillna(False).astype(bool)]


# ---- writers -----------------------------------------------------------------------------------
def _as_lake(target: Any) -> Any:
    """A lake folder given as a path becomes a Lake; engines and Lakes pass through."""
    return Lake(target) if isinstance(target, (str, os.PathLike)) else target


def _write_lake(lake: Lake, day: dt.date, anchor: str, tables: dict[str, pd.DataFrame]) -> None:
    """Upsert the anchor's rows of every table: staged under the tables' locks (taken in
    name order, as every writer does), renamed in together in `tables`' order."""

    def change(table: str, new: pa.Table):
        def apply(current: pa.Table) -> pa.Table:
            kept = to_arrow(TABLES[table], _keep_others(current.to_pandas(), table, anchor))
            return pa.concat_tables([kept, new])

        return apply

    with lake.locks(*sorted(tables)), lake.staged() as batch:
        for table, rows in tables.items():
            lake.stage_update(batch, table, day, change(table, to_arrow(TABLES[table], rows)))


def _write_cluster(engine: Any, table: str, day: dt.date, anchor: str, rows: pd.DataFrame) -> None:
    columns = TABLES[table].column_names
    where = day_partition(table, day)
    read = queries.render(
        "investigation", "partition_rows", columns=", ".join(columns), table=table
    )
    current = engine.df(read, where)
    merged = pd.concat([_keep_others(current, table, anchor), rows[columns]], ignore_index=True)
    if merged.empty:
        return
    values: dict[str, Any] = dict(where)
    tuples = []
    for i, record in enumerate(merged[columns].itertuples(index=False)):
        names = []
        for j, value in enumerate(record):
            values[f"v{i}_{j}"] = None if pd.isna(value) else plain_value(value)
            names.append(f":v{i}_{j}")
        tuples.append(f"({', '.join(names)})")
    sql = queries.render(
        "investigation", "overwrite_partition", table=table, rows=", ".join(tuples)
    )
    engine.arrow(sql, values)


def _engine(target: Any):
    target = _as_lake(target)
    if isinstance(target, Lake):
        from spot_lab.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine(target)
    return target
