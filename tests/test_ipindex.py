"""The per-day IP index of flows (spot_lab.store.ipindex) on real generated lakes.

Investigations with and without the index must be the same report; the index's rows are
checked against independent SQL over the raw parquet files; a stale index is never used.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from spot_lab import cli
from spot_lab.config import SpotLab
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.errors import InputError, LakeError, WriteError
from spot_lab.investigation.search import investigate
from spot_lab.store import ipindex
from spot_lab.store.lake import Lake
from spot_lab.store.schema import TABLES
from tests.conftest import DEMO_DAY

FLOW_COLUMNS = "unix_tstamp, sip, dip, sport, dport, proto, ipkt, ibyt, opkt, obyt"


def raw_flows(lake_root, sql: str, params=None) -> pd.DataFrame:
    """SQL over the raw flow files as view `t` (with h from the folder), no spot-lab code."""
    con = duckdb.connect()
    files = str(lake_root / "flow" / "hive" / "y=*" / "m=*" / "d=*" / "h=*" / "*.parquet")
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{files}', hive_partitioning=true)")
    return con.execute(sql, params or []).df()


def index_rows(lake_root, ip: str) -> pd.DataFrame:
    files = str(lake_root / "flow" / "hive" / "oa" / "by_ip" / "*" / "*" / "*" / "*.parquet")
    con = duckdb.connect()
    return con.execute(
        f"SELECT {FLOW_COLUMNS}, h FROM read_parquet('{files}') WHERE ip = $1 "
        f"ORDER BY ALL", [ip]
    ).df()  # fmt: skip


def anchors(lake_root) -> list[str]:
    """The c2 IP, its internal host, the busiest IP of the day, and an IP with no flows."""
    truth = json.loads((lake_root / "ground_truth.json").read_text())
    c2 = next(s for s in truth["scenarios"] if s["name"] == "c2_beaconing")
    busiest = raw_flows(
        lake_root,
        "SELECT ip FROM (SELECT sip AS ip FROM t UNION ALL SELECT dip FROM t) "
        "GROUP BY ip ORDER BY count(*) DESC, ip LIMIT 1",
    )["ip"].iloc[0]
    return [c2["anchors"]["ips"][0], c2["internal_hosts"][0], busiest, "192.0.2.77"]


def report_of(lake_root, anchor: str):
    engine = DuckDBEngine(lake_root)
    try:
        return investigate(anchor, engine=engine, settings=SpotLab(lake=str(lake_root)))
    finally:
        engine.close()


def assert_same_report(a, b) -> None:
    assert a.empty == b.empty and a.message == b.message
    for name in ("peers", "details", "timeline", "hourly", "daily", "protocols", "impact",
                 "where", "top_by_bytes", "top_by_connections", "evidence",
                 "endpoints"):  # fmt: skip
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
    assert a.summary == b.summary
    assert a.patient_zero == b.patient_zero


@pytest.fixture(scope="module")
def indexed(demo_lake_path, tmp_path_factory):
    """(raw lake, the same lake with its day indexed): both read-only."""
    root = tmp_path_factory.mktemp("indexed") / "lake"
    import shutil

    shutil.copytree(demo_lake_path, root)
    result = ipindex.build(Lake(root), DEMO_DAY)
    return demo_lake_path, root, result


# ---- investigations: identical with and without the index -------------------------------------
def test_investigations_are_identical_with_and_without_the_index(indexed):
    raw, idx, _ = indexed
    assert not ipindex.is_fresh(Lake(raw), DEMO_DAY) and ipindex.is_fresh(Lake(idx), DEMO_DAY)
    for anchor in anchors(raw):
        plain, fast = report_of(raw, anchor), report_of(idx, anchor)
        assert_same_report(plain, fast)
    assert report_of(idx, "192.0.2.77").empty
    c2 = report_of(idx, anchors(raw)[0])
    assert not c2.empty and c2.evidence["item"].isin(["rare port", "port"]).any()
    assert (c2.evidence["item"] == "distinct peers").any()


def test_the_index_is_what_the_investigation_reads(indexed, tmp_path):
    """Emptying the index's rows (manifest untouched) empties the report: it was used."""
    import shutil

    _, idx, _ = indexed
    root = tmp_path / "lake"
    shutil.copytree(idx, root)
    lake = Lake(root)
    empty = TABLES["flow_by_ip"].arrow_schema.empty_table()
    lake.replace_partition("flow_by_ip", empty, DEMO_DAY)
    assert ipindex.is_fresh(lake, DEMO_DAY)
    report = report_of(root, anchors(root)[0])
    assert report.empty and "no flow connections" in report.message


def test_a_stale_index_is_not_used(indexed, tmp_path):
    import shutil

    raw, idx, _ = indexed
    root = tmp_path / "lake"
    shutil.copytree(idx, root)
    lake = Lake(root)
    ip = anchors(raw)[0]
    before = report_of(root, ip).peers["connections"].sum()
    # a late raw file with one more flow of the anchor, after the day was indexed
    row = {c.name: None for c in TABLES["flow"].columns}
    row |= {"unix_tstamp": 1795910000, "sip": "10.9.9.9", "dip": ip, "sport": 50000,
            "dport": 443, "proto": "TCP", "ipkt": 3, "ibyt": 300, "opkt": 2, "obyt": 200}  # fmt: skip
    lake.append("flow", pa.Table.from_pylist([row]), DEMO_DAY, 23)
    assert not ipindex.is_fresh(lake, DEMO_DAY)
    report = report_of(root, ip)
    assert report.peers["connections"].sum() == before + 1
    assert "10.9.9.9" in set(report.peers["peer"])
    # a raw file changed in place (same name, new content) is stale too
    ipindex.build(lake, DEMO_DAY)
    assert ipindex.is_fresh(lake, DEMO_DAY)
    victim = ipindex.raw_files(lake, DEMO_DAY)[0]
    victim.write_bytes(victim.read_bytes())  # same bytes, new mtime
    assert not ipindex.is_fresh(lake, DEMO_DAY)


# ---- the index's rows ----------------------------------------------------------------------------
def test_index_rows_are_the_raw_flows_of_each_side(indexed):
    raw, idx, result = indexed
    for ip in anchors(raw):
        expected = raw_flows(
            raw,
            f"SELECT {FLOW_COLUMNS}, CAST(h AS INTEGER) AS h FROM t WHERE sip = $1 UNION ALL "
            f"SELECT {FLOW_COLUMNS}, CAST(h AS INTEGER) FROM t "
            "WHERE dip = $1 AND sip IS DISTINCT FROM $1 "
            "ORDER BY ALL",
            [ip],
        )
        got = index_rows(idx, ip)
        assert len(got) == len(expected)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    sides = raw_flows(
        raw,
        "SELECT count(sip) + count(*) FILTER (WHERE dip IS NOT NULL AND sip IS DISTINCT FROM dip) "
        "AS n FROM t",
    )["n"].iloc[0]
    assert result.rows == sides
    written = Lake(idx).read_partition("flow_by_ip", DEMO_DAY)
    assert written.num_rows == sides and written.schema == TABLES["flow_by_ip"].arrow_schema
    ips = written.column("ip").to_pylist()
    assert ips == sorted(ips)  # sorted: row-group statistics prune a lookup


def test_a_flow_from_an_ip_to_itself_is_indexed_once(lake_copy):
    lake = Lake(lake_copy)
    row = {c.name: None for c in TABLES["flow"].columns}
    row |= {"unix_tstamp": 1795900000, "sip": "10.7.7.7", "dip": "10.7.7.7", "sport": 1,
            "dport": 2, "proto": "UDP", "ipkt": 1, "ibyt": 60, "opkt": 0, "obyt": 0}  # fmt: skip
    lake.append("flow", pa.Table.from_pylist([row, row | {"dip": "10.7.7.8"}]), DEMO_DAY, 5)
    ipindex.build(lake, DEMO_DAY)
    mine = index_rows(lake_copy, "10.7.7.7")
    assert sorted(mine["dip"]) == ["10.7.7.7", "10.7.7.8"]  # the self-flow once, not twice
    assert index_rows(lake_copy, "10.7.7.8")["sip"].tolist() == ["10.7.7.7"]
    report = report_of(lake_copy, "10.7.7.7")
    assert report.peers["connections"].sum() == 2


def test_port_counts_are_the_days_connections_per_port(indexed):
    raw, idx, _ = indexed
    expected = raw_flows(raw, "SELECT dport, count(*) AS n FROM t GROUP BY dport ORDER BY dport")
    got = Lake(idx).read_partition("flow_port_counts", DEMO_DAY).to_pandas()
    got = got.sort_values("dport", na_position="last").reset_index(drop=True)
    assert got["dport"].tolist() == expected["dport"].tolist()
    assert got["connections"].tolist() == expected["n"].tolist()


# ---- building: CLI, scoring, errors ----------------------------------------------------------------
def test_cli_index_builds_the_day_and_reports_it(lake_copy, capsys):
    assert cli.main(["index", "--date", str(DEMO_DAY), "--lake", str(lake_copy)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"flow {DEMO_DAY}: indexed ") and "MB on disk" in out
    assert "flow_by_ip written" in err  # progress lines, like generate's
    assert ipindex.is_fresh(Lake(lake_copy), DEMO_DAY)
    manifest = json.loads(
        (Lake(lake_copy).partition_path("flow_by_ip", DEMO_DAY) / ipindex.MANIFEST).read_text()
    )
    assert [path for path, _, _ in manifest["raw"]] == [
        p.relative_to(lake_copy).as_posix() for p in ipindex.raw_files(Lake(lake_copy), DEMO_DAY)
    ]
    assert cli.main(["index", "--date", str(DEMO_DAY), "--lake", str(lake_copy), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_cli_index_errors_in_one_line(lake_copy, empty_lake, tmp_path, capsys):
    for args, words in (
        (["--date", "2020-01-01", "--lake", str(lake_copy)], "no flow data on 2020-01-01"),
        (["--date", str(DEMO_DAY), "--lake", str(empty_lake)], "days with flow data: none"),
        (["--date", "28-11-2026", "--lake", str(lake_copy)], "bad date"),
        (["--date", str(DEMO_DAY), "--lake", str(tmp_path / "nowhere")], "no Spot lake"),
    ):
        assert cli.main(["index", *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("spot-lab index: error: ") and words in err, err
        assert err.count("\n") == 1
    with pytest.raises(InputError, match=str(DEMO_DAY)):  # the days that have data
        ipindex.build(lake_copy, "2020-01-01")
    assert not (lake_copy / "flow" / "hive" / "oa" / "by_ip").exists()  # nothing written


def test_a_failed_rebuild_leaves_no_fresh_index(lake_copy):
    lake = Lake(lake_copy)
    ipindex.build(lake, DEMO_DAY)
    victim = lake.partition_path("flow", DEMO_DAY, 3) / "part-torn.parquet"
    victim.write_bytes(b"PAR1 not really")
    with pytest.raises(LakeError) as info:
        ipindex.build(lake, DEMO_DAY)
    assert "\n" not in str(info.value) and "part-torn.parquet" in str(info.value)
    assert not ipindex.is_fresh(lake, DEMO_DAY)


def test_scoring_builds_the_index(scored_lake_path):
    lake = Lake(scored_lake_path)
    assert ipindex.is_fresh(lake, DEMO_DAY)
    assert lake.read_partition("flow_port_counts", DEMO_DAY).num_rows > 0


def test_scoring_refuses_before_any_write_when_the_index_holds_a_users_file(lake_copy):
    """The index is built last: a partition it may not replace stops the score before
    anything is written, not after the scores."""
    from spot_lab.scoring import score_day

    lake = Lake(lake_copy)
    mine = lake.partition_path("flow_port_counts", DEMO_DAY) / "my-export.parquet"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"the user's bytes")
    engine = DuckDBEngine(lake_copy)
    try:
        with pytest.raises(WriteError, match="my-export.parquet"):
            score_day(engine, "flow", DEMO_DAY, progress=False)
    finally:
        engine.close()
    assert mine.read_bytes() == b"the user's bytes"
    for name in ("flow_scores", "flow_threats", "flow_by_ip"):
        assert not lake.partition_path(name, DEMO_DAY).exists(), name


def test_covers_needs_every_day(tmp_path):
    from spot_lab.demo.generator import generate

    root = tmp_path / "two"
    first = dt.date(2026, 11, 20)
    generate(root, first, days=2, flows_per_day=2000, seed=5, progress=False)
    lake = Lake(root)
    ipindex.build(lake, first)
    assert ipindex.covers(lake, [first])
    assert not ipindex.covers(lake, [first, first + dt.timedelta(1)])
