"""The same investigations through a real Spark Thrift Server (HiveServer2 protocol) give the
same tables as the embedded DuckDB lake; storyboards round-trip through INSERT OVERWRITE."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from spot_lab.config import SpotLab
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.investigation.search import investigate
from spot_lab.investigation.storyboard import load_storyboard, save_storyboard
from tests.conftest import DEMO_DAY

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def anchors(lake) -> list[tuple[str, str]]:
    by = {s["name"]: s for s in json.loads((lake / "ground_truth.json").read_text())["scenarios"]}
    tunnel = by["dns_tunnelling"]
    return [
        (by["c2_beaconing"]["internal_hosts"][0], "flow"),
        (".".join(tunnel["anchors"]["query_names"][0].split(".")[-2:]), "dns"),
        (by["phishing"]["anchors"]["uris"][0], "proxy"),
    ]


def normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """Same content regardless of engine: plain dtypes, rows in a canonical order."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].astype(float).round(4)
        elif pd.api.types.is_integer_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].astype("int64")
        elif not pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].map(lambda v: None if v is None or v is pd.NA else str(v))
    keys = [c for c in out.columns if not pd.api.types.is_float_dtype(out[c])]
    return out.sort_values(keys, na_position="first").reset_index(drop=True)


@pytest.fixture(scope="module")
def duck(demo_lake_path):
    eng = DuckDBEngine(demo_lake_path)
    yield eng
    eng.close()


def test_spark_and_duckdb_investigations_agree(spark_engine, duck, demo_lake_path):
    settings = SpotLab(lake=str(demo_lake_path))
    for anchor, data_type in anchors(demo_lake_path):
        local = investigate(anchor, data_type=data_type, engine=duck, settings=settings, top=5)
        remote = investigate(
            anchor, data_type=data_type, engine=spark_engine, settings=settings, top=5
        )
        assert not local.empty and not remote.empty, anchor
        assert remote.engine == "hive" and remote.days == local.days
        assert set(remote.tables()) == set(local.tables()), anchor
        for name, table in local.tables().items():
            other = getattr(remote, name)
            pd.testing.assert_frame_equal(
                normalised(table), normalised(other), check_dtype=False, obj=f"{anchor} {name}"
            )
        assert remote.summary == local.summary, anchor
        assert remote.patient_zero == local.patient_zero


def test_range_without_data_on_spark(spark_engine, demo_lake_path):
    from spot_lab.errors import InputError

    with pytest.raises(InputError, match=str(DEMO_DAY)):
        investigate(
            "10.0.0.5",
            engine=spark_engine,
            settings=SpotLab(lake=str(demo_lake_path)),
            date_range="2021-01-01",
        )


def test_storyboard_round_trip_on_spark(spark_engine, demo_lake_path):
    settings = SpotLab(lake=str(demo_lake_path))
    by = {
        s["name"]: s
        for s in json.loads((demo_lake_path / "ground_truth.json").read_text())["scenarios"]
    }
    ip = by["c2_beaconing"]["anchors"]["ips"][0]
    report = investigate(ip, engine=spark_engine, settings=settings)
    save_storyboard(spark_engine, "flow", DEMO_DAY, "10.9.9.9", "other", "kept")
    report.save_storyboard("C2 over Spark", "it's beaconing; 'quoted' text")
    report.save_storyboard("C2 over Spark", "second version")
    assert load_storyboard(spark_engine, "flow", DEMO_DAY, ip) == (
        "C2 over Spark",
        "second version",
    )
    assert load_storyboard(spark_engine, "flow", DEMO_DAY, "10.9.9.9") == ("other", "kept")
    timeline = spark_engine.df(
        "SELECT ip_threat, count(*) AS n FROM flow_timeline GROUP BY ip_threat"
    ).set_index("ip_threat")
    assert timeline.loc[ip, "n"] > 0
    again = investigate(ip, engine=spark_engine, settings=settings)
    assert again.storyboard_title == "C2 over Spark"
