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


def _detect_on_spark(spark_server, tmp_path, lake, database, data_type, detectors):
    """detect_day on the Spark Thrift Server over `lake`, registered as `database`."""
    from spot_lab.engines.hive import HiveEngine
    from tests.lakes import DAY
    from tests.spark_fixture import register_lake

    engine = HiveEngine(spark_server.url("default"), timeout=30)
    engine.progress_after = float("inf")
    try:
        register_lake(engine, lake.root, tmp_path / f"empty-{database}", database)
    finally:
        engine.close()
    engine = HiveEngine(spark_server.url(database), timeout=30)
    engine.progress_after = float("inf")
    try:
        return detect_day(engine, data_type, DAY, detectors=detectors)
    finally:
        engine.close()


def test_scheduled_transfers_read_the_earlier_days_on_spark(spark_server, tmp_path):
    """scheduled_transfers' window functions over four days of history (the demo lake has one)."""
    from tests.lakes import DAY
    from tests.test_detect_field import transfer_at_the_hour_of_one_earlier_day

    lake = transfer_at_the_hour_of_one_earlier_day(tmp_path / "lake")
    remote = _detect_on_spark(spark_server, tmp_path, lake, "schedule_test", "flow",
                              "exfiltration")  # fmt: skip
    local = detect_day(DuckDBEngine(lake), "flow", DAY, detectors="exfiltration")
    assert _findings(remote) == pytest.approx(_findings(local))
    assert [r["entity"] for r in remote.threats.to_pylist()] == ["10.16.0.8 -> 185.77.8.8"]
    assert any("scheduled transfer" in n for n in remote.notes)


@pytest.mark.parametrize("detector", ["beacon", "proxy_beacon", "beacon_fqdn"])
def test_a_slow_beacon_is_scored_across_the_earlier_days_on_spark(spark_server, tmp_path,
                                                                   detector):  # fmt: skip
    from tests.lakes import DAY
    from tests.test_detect_field import _slow_days, _slow_flow, _slow_named_days, _slow_proxy

    data_type = "proxy" if detector == "proxy_beacon" else "flow"
    if detector == "beacon_fqdn":
        lake = _slow_named_days(tmp_path / "lake")
    else:
        lake = _slow_days(
            tmp_path / "lake", data_type, {"flow": _slow_flow, "proxy": _slow_proxy}[data_type]
        )
    remote = _detect_on_spark(spark_server, tmp_path, lake, f"slow_{detector}", data_type,
                              detector)  # fmt: skip
    local = detect_day(DuckDBEngine(lake), data_type, DAY, detectors=detector)
    assert len(_findings(local)) == 1 and _findings(remote) == pytest.approx(_findings(local))
    assert remote.findings["summary"].to_pylist() == local.findings["summary"].to_pylist()
