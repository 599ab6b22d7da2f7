"""The detectors' SQL on a real Spark Thrift Server gives the DuckDB lake's findings."""

from __future__ import annotations

import pytest

from spot_lab.detect.run import detect_day
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.store.lake import Lake
from tests.conftest import DEMO_DAY

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _findings(result) -> dict[tuple[str, str], float]:
    f = result.findings
    return dict(zip(zip(f["detector"].to_pylist(), f["entity"].to_pylist(), strict=True),
                    f["score"].to_pylist(), strict=True))  # fmt: skip


@pytest.mark.parametrize("data_type", ["flow", "dns", "proxy"])
def test_detectors_match_duckdb(spark_engine, demo_lake_path, data_type):
    local = detect_day(DuckDBEngine(Lake(demo_lake_path)), data_type, DEMO_DAY)
    remote = detect_day(spark_engine, data_type, DEMO_DAY)
    assert not [n for n in remote.notes if "did not run" in n], remote.notes
    mine, theirs = _findings(local), _findings(remote)
    assert len(mine) >= 2 and set(theirs) == set(mine)
    for key, score in mine.items():
        assert theirs[key] == pytest.approx(score, abs=1e-3), key
    top = local.threats.to_pylist()[0]
    assert remote.threats.to_pylist()[0]["entity"] == top["entity"]


def test_scheduled_transfers_read_the_earlier_days_on_spark(spark_server, tmp_path):
    """scheduled_transfers' window functions over four days of history (the demo lake has one)."""
    from spot_lab.engines.hive import HiveEngine
    from tests.lakes import DAY
    from tests.spark_fixture import register_lake
    from tests.test_detect_field import transfer_at_the_hour_of_one_earlier_day

    lake = transfer_at_the_hour_of_one_earlier_day(tmp_path / "lake")
    engine = HiveEngine(spark_server.url("default"), timeout=30)
    engine.progress_after = float("inf")
    try:
        register_lake(engine, lake.root, tmp_path / "empty", "schedule_test")
    finally:
        engine.close()
    engine = HiveEngine(spark_server.url("schedule_test"), timeout=30)
    engine.progress_after = float("inf")
    try:
        remote = detect_day(engine, "flow", DAY, detectors="exfiltration")
    finally:
        engine.close()
    local = detect_day(DuckDBEngine(lake), "flow", DAY, detectors="exfiltration")
    assert _findings(remote) == pytest.approx(_findings(local))
    assert [r["entity"] for r in remote.threats.to_pylist()] == ["10.16.0.8 -> 185.77.8.8"]
    assert any("scheduled transfer" in n for n in remote.notes)
