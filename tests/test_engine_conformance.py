"""One conformance suite for every engine the project can start here (in the style of PyHive's
shared DB-API test case): the embedded DuckDB lake and a real Spark Thrift Server. An engine is
supported when it passes it. Presto and Trino cannot run here; test_cluster.py checks them up to
the wire.

Each class gives `engine` (over the same demo lake) and `lake`; the tests are the same.
"""

from __future__ import annotations

import signal
import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.engines.sqltools import confine_to_days, parse
from spot_lab.errors import QueryError
from spot_lab.store.lake import Lake
from spot_lab.store.schema import TABLES
from tests.conftest import DEMO_DAY
from tests.spark_fixture import register_table

# A query slow enough to be interrupted on any engine (minutes even for DuckDB).
SLOW = (
    "SELECT COUNT(*) AS n FROM flow a CROSS JOIN flow b CROSS JOIN (SELECT ibyt FROM flow "
    "LIMIT 100) c WHERE a.ibyt + b.ibyt + c.ibyt = 7"
)
RAW = ("flow", "dns", "proxy")
# One row of a derived table for the types raw tables lack (DOUBLE), with awkward values.
BEACON_ROW = {
    "srcip": "fe80::1%eth0", "dstip": "203.0.113.9", "dport": 65535, "proto": "TCP",
    "connections": 2**40 + 3, "ts_score": 0.123456789012345, "ds_score": -1e-300,
    "hist_score": 1.0, "dur_score": 0.0, "score": 2.5e300, "mean_interval": 272.25,
    "first_seen": "2026-11-28 00:00:01", "last_seen": "ünï ' \" %",
}  # fmt: skip


class EngineConformance:
    """The behaviour every engine must have. Subclasses provide the `engine` fixture."""

    @pytest.fixture()
    def lake(self, demo_lake_path):
        return Lake(demo_lake_path)

    # -- types ---------------------------------------------------------------------------------
    @pytest.mark.parametrize("name", RAW)
    def test_every_spot_column_type_round_trips(self, engine, lake, name):
        tbl = TABLES[name]
        path = lake.files(name)[0]
        first = pq.read_table(path).slice(0, 1).to_pylist()[0]
        cols = ", ".join(c.name for c in tbl.columns + tbl.partitions)
        where = " AND ".join(f"{c.name} = :{c.name}" for c in tbl.columns if first[c.name] is not None
                             and c.hive_type not in ("FLOAT", "DOUBLE"))  # fmt: skip
        got = engine.arrow(f"SELECT {cols} FROM {name} WHERE {where} LIMIT 1", first)
        expected = {c.name: c.arrow_type for c in tbl.columns + tbl.partitions}
        assert {f.name: f.type for f in got.schema} == expected
        row = got.to_pylist()[0]
        for col in tbl.columns:
            if col.hive_type == "FLOAT" and first[col.name] is not None:
                assert row[col.name] == pytest.approx(first[col.name], rel=1e-6)
            else:
                assert row[col.name] == first[col.name], col.name

    def test_a_derived_table_round_trips(self, derived):
        engine, table = derived
        got = engine.arrow(f"SELECT * FROM {table} WHERE connections = :n", {"n": 2**40 + 3})
        tbl = TABLES["flow_beacons"]
        assert {f.name: f.type for f in got.schema} == {
            c.name: c.arrow_type for c in tbl.columns + tbl.partitions
        }
        row = got.to_pylist()[0]
        assert {k: row[k] for k in BEACON_ROW} == BEACON_ROW
        assert (row["y"], row["m"], row["d"]) == (DEMO_DAY.year, DEMO_DAY.month, DEMO_DAY.day)

    def test_nulls_come_back_as_nulls(self, engine):
        got = engine.arrow("SELECT CAST(NULL AS INT) AS a, CAST(NULL AS VARCHAR) AS b, 1 AS c")
        assert got.to_pylist() == [{"a": None, "b": None, "c": 1}]

    # -- binding -------------------------------------------------------------------------------
    @pytest.mark.parametrize(
        "value",
        ["'; DROP TABLE flow; --", "it's", "100%", "back\\slash", "ünïcødé", "a\nb", 7, -1.5],
    )
    def test_values_are_bound_never_pasted(self, engine, value):
        got = engine.arrow("SELECT :v AS v, :v AS again", {"v": value})
        assert got.column("v")[0].as_py() == value == got.column("again")[0].as_py()

    def test_a_literal_percent_survives_binding(self, engine):
        got = engine.arrow("SELECT COUNT(*) AS n FROM dns WHERE dns_qry_name LIKE '%.com' "
                           "AND dns_qry_type = :t", {"t": 1})  # fmt: skip
        assert got.column("n")[0].as_py() > 0

    def test_in_lists_bind_each_element(self, engine):
        ips = engine.df("SELECT DISTINCT sip FROM flow ORDER BY sip LIMIT 5")["sip"].tolist()
        got = engine.df("SELECT DISTINCT sip FROM flow WHERE sip IN (:ips) ORDER BY sip",
                        {"ips": ips + ["') OR 1=1 --"]})  # fmt: skip
        assert got["sip"].tolist() == ips
        ports = engine.df("SELECT DISTINCT dport FROM flow WHERE dport IN (:p) ORDER BY dport",
                          {"p": [53, 443]})  # fmt: skip
        assert ports["dport"].tolist() == [53, 443]

    # -- date confinement ----------------------------------------------------------------------
    def test_date_confinement_keeps_only_the_range(self, engine):
        sql = "SELECT COUNT(*) AS n FROM flow f JOIN dns d ON f.sip = d.ip_dst WHERE f.dport = 53"
        tree = parse(sql)[0]
        inside = confine_to_days(tree, DEMO_DAY, DEMO_DAY).sql("duckdb")
        outside = confine_to_days(tree, DEMO_DAY.replace(day=1), DEMO_DAY.replace(day=2))
        assert engine.df(inside)["n"][0] == engine.df(sql)["n"][0] > 0
        assert engine.df(outside.sql("duckdb"))["n"][0] == 0

    # -- errors --------------------------------------------------------------------------------
    def test_errors_are_one_line_naming_engine_and_statement(self, engine):
        with pytest.raises(QueryError) as info:
            engine.df("SELECT nosuchcolumn FROM flow")
        message = str(info.value)
        assert message.startswith(f"{engine.kind} error:") and "nosuchcolumn" in message
        assert "[in: SELECT nosuchcolumn FROM flow]" in message and "\n" not in message
        assert engine.df("SELECT 1 AS ok")["ok"][0] == 1  # the session is still usable

    # -- interrupt -----------------------------------------------------------------------------
    def test_an_interrupt_stops_the_query_and_keeps_the_engine(self, engine):
        """Jupyter's stop button sends SIGINT to the kernel: the same here, from a timer."""
        main = threading.get_ident()
        timer = threading.Timer(1.0, lambda: signal.pthread_kill(main, signal.SIGINT))
        started = time.monotonic()
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                engine.arrow(SLOW)
        finally:
            timer.cancel()
        assert time.monotonic() - started < 30
        assert engine.df("SELECT COUNT(*) AS n FROM dns")["n"][0] > 0


@pytest.fixture(scope="module")
def derived_lake(tmp_path_factory):
    lake = Lake(tmp_path_factory.mktemp("derived") / "lake", create=True)
    lake.replace_partition("flow_beacons", pa.Table.from_pylist([BEACON_ROW]), DEMO_DAY)
    return lake


class TestDuckDBLake(EngineConformance):
    @pytest.fixture()
    def engine(self, demo_lake_path):
        engine = DuckDBEngine(demo_lake_path)
        yield engine
        engine.close()

    @pytest.fixture()
    def derived(self, derived_lake):
        engine = DuckDBEngine(derived_lake)
        yield engine, "flow_beacons"
        engine.close()


@pytest.mark.spark
class TestSparkThriftServer(EngineConformance):
    @pytest.fixture()
    def engine(self, spark_engine):
        return spark_engine

    @pytest.fixture()
    def derived(self, spark_engine, derived_lake):
        spark_engine._execute("CREATE DATABASE IF NOT EXISTS conformance", [])
        location = derived_lake.root / TABLES["flow_beacons"].relative_dir()
        register_table(spark_engine, "flow_beacons", location, "conformance")
        return spark_engine, "conformance.flow_beacons"


def test_the_suite_covers_every_spot_column_type():
    covered = {c.hive_type for name in (*RAW, "flow_beacons")
               for c in TABLES[name].columns + TABLES[name].partitions}  # fmt: skip
    assert covered == {c.hive_type for t in TABLES.values() for c in t.columns + t.partitions}
