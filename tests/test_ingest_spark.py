"""`spot-lab ingest --spark`: the same mappings as a PySpark job writing Spot's partitioned
Hive tables; through the real Spark Thrift Server the queries return the lake's rows."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from spot_lab.ingest import ingest
from spot_lab.store.schema import TABLES
from tests.ingest_support import SENSORS, ZEEK, table
from tests.spark_fixture import JAVA_HOME

pytestmark = [pytest.mark.spark, pytest.mark.slow]
LOGS = [ZEEK / "conn.log", ZEEK / "dns.log", ZEEK / "http.log", ZEEK / "json", SENSORS / "eve.json",
        SENSORS / "bluecoat.log"]  # fmt: skip
TABLE_NAMES = ("flow", "dns", "proxy", "ip_leases")


def _spark_ingest(server, warehouse):
    env = dict(os.environ, PYTHONPATH=os.getcwd(), SPARK_LOCAL_IP="127.0.0.1")
    if os.path.isdir(JAVA_HOME):
        env["JAVA_HOME"] = JAVA_HOME
    cmd = [sys.executable, "-m", "spot_lab.cli", "ingest", "--spark", "--conn", server.url("default"),
           "--database", "ingested", "--warehouse", str(warehouse), "--master", "local[2]",
           *map(str, LOGS)]  # fmt: skip
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)


def _columns(name: str) -> str:
    tbl = TABLES[name]
    return ", ".join(c.name for c in tbl.columns + tbl.extensions + tbl.partitions)


def test_spark_ingest_gives_the_lakes_rows_through_the_thrift_server(spark_server, tmp_path):
    from spot_lab.engines.hive import HiveEngine

    done = _spark_ingest(spark_server, tmp_path / "warehouse")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    lake = tmp_path / "lake"
    local_report = ingest(LOGS, lake, progress=False)
    engine = HiveEngine(spark_server.url("ingested"), timeout=60)
    engine.progress_after = float("inf")
    try:
        for name in TABLE_NAMES:
            cols = _columns(name)
            remote = engine.arrow(f"SELECT {cols} FROM {name}").to_pylist()
            local = table(lake, f"SELECT {cols} FROM {name}").to_pylist()
            key = lambda r: tuple((v is None, str(v)) for v in r.values())  # noqa: E731
            assert len(remote) == len(local) == local_report.rows[name] > 0, name
            assert sorted(remote, key=key) == sorted(local, key=key), name
        # detectors' fields are there on the cluster too
        states = engine.arrow("SELECT conn_state, count(*) AS n FROM flow WHERE sensor = 'zeek' "
                              "GROUP BY conn_state").to_pylist()  # fmt: skip
        assert {r["conn_state"] for r in states} >= {"SF", "S0", "RSTO"}
    finally:
        engine.close()
    lines = done.stdout.strip().splitlines()
    assert any(ln.endswith("conn.log: 360 rows") for ln in lines)
    again = _spark_ingest(spark_server, tmp_path / "warehouse")  # nothing new: nothing appended
    assert again.returncode == 0 and again.stdout.count("unchanged, already ingested") == 9
