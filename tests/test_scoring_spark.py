"""The same scoring SQL on a real Spark Thrift Server (HiveServer2) as on DuckDB."""

from __future__ import annotations

import pyarrow as pa
import pytest

from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.scoring import score_day, sqlrun, words
from spot_lab.store.lake import Lake
from tests.conftest import DEMO_DAY

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _counts(engine, data_type: str) -> pa.Table:
    params = {**words.day_params(data_type, DEMO_DAY), **words.lookup_params("acme")}
    events = sqlrun.stage(engine, "_t_events", words.events_sql(data_type), params)
    stage = sqlrun.stage(engine, "_t_words", words.words_sql(data_type, events), params)
    try:
        counts = engine.arrow(words.counts_sql(data_type, stage))
    finally:
        sqlrun.drop(engine, "_t_words", "_t_events")
    return counts.sort_by([("ip", "ascending"), ("word", "ascending")])


@pytest.mark.parametrize("data_type", ["flow", "dns", "proxy"])
def test_word_counts_match_duckdb(spark_engine, demo_lake_path, data_type):
    local = _counts(DuckDBEngine(Lake(demo_lake_path)), data_type)
    remote = _counts(spark_engine, data_type)
    assert remote.num_rows == local.num_rows > 100
    assert remote["ip"].to_pylist() == local["ip"].to_pylist()
    assert remote["word"].to_pylist() == local["word"].to_pylist()
    assert remote["n"].cast(pa.int64()).to_pylist() == local["n"].to_pylist()


def test_dns_scores_match_duckdb_and_are_written_by_insert_overwrite(
    spark_server, demo_lake_path, tmp_path
):
    from spot_lab.engines.hive import HiveEngine
    from tests.spark_fixture import register_table

    # a private database: raw dns over the demo lake, dns_scores over a fresh folder
    engine = HiveEngine(spark_server.url("default"), timeout=30)
    engine.progress_after = float("inf")
    try:
        engine._execute("CREATE DATABASE IF NOT EXISTS scoring_test", [])
        register_table(engine, "dns", Lake(demo_lake_path).root / "dns/hive", "scoring_test")
        for name in ("dns_scores", "dns_threats"):
            (tmp_path / name).mkdir()
            register_table(engine, name, tmp_path / name, "scoring_test")
    finally:
        engine.close()
    engine = HiveEngine(spark_server.url("scoring_test"), timeout=30)
    engine.progress_after = float("inf")
    options = {"limit": 200, "user_domain": "acme", "progress": False}
    try:
        remote = score_day(engine, "dns", DEMO_DAY, **options)
        written = engine.arrow(
            "SELECT ip_dst, dns_qry_name, unix_tstamp, ml_score FROM dns_scores "
            "WHERE y = 2026 AND m = 11 AND d = 28"
        ).to_pandas()
        threats = engine.arrow(
            "SELECT rank, entity FROM dns_threats WHERE y = 2026 AND m = 11 AND d = 28"
        ).to_pandas()
    finally:
        engine.close()
    local = score_day(DuckDBEngine(Lake(demo_lake_path)), "dns", DEMO_DAY, write=False, **options)
    assert (remote.events, remote.documents, remote.words) == (
        local.events,
        local.documents,
        local.words,
    )
    r, loc = remote.scores.to_pandas(), local.scores.to_pandas()
    assert len(r) == len(loc) == 200
    assert r.ml_score.to_numpy() == pytest.approx(loc.ml_score.to_numpy(), rel=1e-4)
    key = ["ip_dst", "dns_qry_name", "unix_tstamp"]
    assert set(map(tuple, r[key].to_numpy())) == set(map(tuple, loc[key].to_numpy()))
    assert len(written) == 200
    assert len(threats) > 0 and sorted(threats["rank"]) == list(range(1, len(threats) + 1))
    assert set(map(tuple, written[key].to_numpy())) == set(map(tuple, r[key].to_numpy()))
