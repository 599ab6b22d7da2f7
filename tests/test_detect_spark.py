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
