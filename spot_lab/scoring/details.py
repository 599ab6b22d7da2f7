"""OA's detail tables for the flagged rows (reference 1.4, 2.3-2.5), computed in the engine
from the raw day: flow_edge, flow_chords, dns_edge, dns_dendro, proxy_edge."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from spot_lab.engines.base import Engine
from spot_lab.scoring import sqlrun
from spot_lab.scoring.enrich import (
    dns_class_name,
    dns_rcode_name,
    dns_type_name,
    http_code_name,
    network_context,
)
from spot_lab.scoring.words import day_params, q
from spot_lab.store.lake import to_arrow
from spot_lab.store.schema import TABLES

DETAILS = {
    "flow": ("flow_edge", "flow_chords"),
    "dns": ("dns_edge", "dns_dendro"),
    "proxy": ("proxy_edge",),
}


def detail_tables(
    engine: Engine,
    data_type: str,
    day: dt.date,
    flagged: pa.Table,
    settings,
    lake_root: Path | None,
) -> dict[str, pa.Table]:
    """The type's detail tables for `flagged` (the rows of `<type>_scores`), not yet written."""
    name = sqlrun.PREFIX + data_type + "_flagged"
    sqlrun.push(engine, name, flagged)
    out = {}
    try:
        for table in DETAILS[data_type]:
            rows = engine.arrow(q(table, flagged=name), day_params(data_type, day)).to_pandas()
            if table == "dns_edge":
                rows["dns_qry_class_name"] = dns_class_name(rows["dns_qry_class"])
                rows["dns_qry_type_name"] = dns_type_name(rows["dns_qry_type"])
                rows["dns_qry_rcode_name"] = dns_rcode_name(rows["dns_qry_rcode"])
                rows["network_context"] = network_context(rows["ip_dst"], settings, lake_root)
            elif table == "proxy_edge":
                rows["respcode_name"] = http_code_name(rows["respcode"])
            out[table] = to_arrow(TABLES[table], rows)
    finally:
        sqlrun.drop(engine, name)
    return out
