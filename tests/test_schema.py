"""spot_lab.store.schema against Apache Spot's DDL facts (reference section 1)."""

from __future__ import annotations

import fnmatch

import pyarrow as pa
import pytest

from spot_lab.store import schema
from spot_lab.store.schema import ANCHOR_COLUMNS, FEEDBACK_COLUMNS, TABLES

# Column counts of Spot's DDL (spot-setup/hive/*.hql, reference 1.2 and 1.4).
SPOT_COLUMN_COUNTS = {
    "flow": 28,
    "dns": 10,
    "proxy": 28,
    "flow_scores": 20,
    "flow_edge": 17,
    "flow_chords": 5,
    "flow_threat_investigation": 6,
    "flow_storyboard": 3,
    "flow_timeline": 10,
    "flow_ingest_summary": 2,
    "dns_scores": 16,
    "dns_edge": 14,
    "dns_dendro": 4,
    "dns_threat_investigation": 5,
    "dns_threat_dendro": 4,
    "dns_storyboard": 4,
    "dns_ingest_summary": 2,
    "proxy_scores": 24,
    "proxy_edge": 17,
    "proxy_threat_investigation": 3,
    "proxy_storyboard": 3,
    "proxy_timeline": 7,
    "proxy_ingest_summary": 2,
}


def test_every_spot_table_is_defined_with_spots_column_count():
    native = {name: len(t.columns) for name, t in TABLES.items() if t.spot_native}
    assert native == SPOT_COLUMN_COUNTS


@pytest.mark.parametrize("name", sorted(TABLES))
def test_columns_are_unique_and_typed(name):
    tbl = TABLES[name]
    names = tbl.column_names + [p.name for p in tbl.partitions]
    assert len(names) == len(set(names))
    assert tbl.arrow_schema.names == tbl.column_names
    for col, field in zip(tbl.columns, tbl.arrow_schema, strict=True):
        assert field.type == col.arrow_type
        assert col.duckdb_type in {"VARCHAR", "BIGINT", "INTEGER", "SMALLINT", "TINYINT",
                                   "FLOAT", "DOUBLE"}  # fmt: skip


def test_partitions_follow_spot():
    for kind in ("flow", "dns"):
        assert [(p.name, p.hive_type) for p in TABLES[kind].partitions] == [
            ("y", "SMALLINT"), ("m", "TINYINT"), ("d", "TINYINT"), ("h", "TINYINT")]  # fmt: skip
    assert [(p.name, p.hive_type) for p in TABLES["proxy"].partitions] == [
        ("y", "STRING"), ("m", "STRING"), ("d", "STRING"), ("h", "STRING")]  # fmt: skip
    for tbl in TABLES.values():
        if not tbl.is_raw:
            assert [p.name for p in tbl.partitions] == ["y", "m", "d"] and not tbl.hourly


def test_folders_are_padded_for_raw_and_not_for_oa():
    assert TABLES["dns"].partition_dir(2026, 3, 7, 5) == "dns/hive/y=2026/m=03/d=07/h=05"
    assert TABLES["proxy"].partition_dir(2026, 3, 7, 0) == "proxy/hive/y=2026/m=03/d=07/h=00"
    assert (
        TABLES["flow_scores"].partition_dir(2026, 3, 7) == "flow/hive/oa/suspicious/y=2026/m=3/d=7"
    )
    assert TABLES["dns_threat_dendro"].relative_dir() == "dns/hive/oa/threat_dendro"
    for tbl in TABLES.values():  # a table's glob finds exactly its own files
        path = tbl.partition_dir(2026, 11, 28, 9 if tbl.hourly else None) + "/part-1.parquet"
        assert fnmatch.fnmatch(path, tbl.glob())
        others = [t for t in TABLES.values() if t is not tbl and fnmatch.fnmatch(path, t.glob())]
        assert others == [], (tbl.name, [t.name for t in others])


def test_feedback_and_anchor_columns_exist_in_the_tables_they_come_from():
    for kind, columns in FEEDBACK_COLUMNS.items():
        assert columns[0] == "sev"
        known = set(TABLES[f"{kind}_scores"].column_names) | set(TABLES[kind].column_names)
        assert set(columns[1:]) <= known, kind
    for kind, columns in ANCHOR_COLUMNS.items():
        assert set(columns) <= set(TABLES[f"{kind}_scores"].column_names)


def test_unknown_names_are_refused_with_the_known_ones():
    with pytest.raises(KeyError, match="flow_scores"):
        schema.table("flow_score")
    with pytest.raises(ValueError, match="flow, dns, proxy"):
        schema.check_data_type("netflow")
    assert schema.table("dns") is TABLES["dns"]
    assert [t.name for t in schema.tables_of("proxy")][0] == "proxy"


def test_spot_quirky_types_are_kept():
    # proxy respcode is text in the raw table but INT in proxy_scores, as in Spot's DDL
    assert TABLES["proxy"].arrow_schema.field("respcode").type == pa.string()
    assert TABLES["proxy_scores"].arrow_schema.field("respcode").type == pa.int32()
    assert TABLES["dns_scores"].arrow_schema.field("frame_len").type == pa.int64()
    assert TABLES["dns"].arrow_schema.field("frame_len").type == pa.int32()
    assert TABLES["flow_scores"].arrow_schema.field("ibyt").type == pa.int32()
