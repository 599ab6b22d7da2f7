"""The embedded lake: schema round trips, clear errors, concurrent writers, killed writers."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.errors import LakeError, QueryError
from spot_lab.store.lake import Lake
from spot_lab.store.schema import TABLES

REPO = Path(__file__).resolve().parents[1]
DAY = dt.date(2026, 3, 7)
HOUR = 5

# One value per Hive type, chosen to expose truncation (values beyond the next smaller type),
# and floats exactly representable in 32 bits.
SAMPLES = {
    "STRING": lambda i, name: [f"{name}-{i}", "ünïcødé 'quoted' \"x\"", None][i],
    "BIGINT": lambda i, name: [2**40 + i, -(2**35), None][i],
    "INT": lambda i, name: [2**30 + i, -70_000, None][i],
    "SMALLINT": lambda i, name: [30_000 + i, -200, None][i],
    "TINYINT": lambda i, name: [120 + i, -5, None][i],
    "FLOAT": lambda i, name: [1.5, -0.25, None][i],
    "DOUBLE": lambda i, name: [2.0**-30, 1e300, None][i],
}
PARTITION_TYPES = {"SMALLINT": pa.int16(), "TINYINT": pa.int8(), "STRING": pa.string()}


def sample_rows(name: str) -> pa.Table:
    tbl = TABLES[name]
    data = {c.name: [SAMPLES[c.hive_type](i, c.name) for i in range(3)] for c in tbl.columns}
    return pa.table(data, schema=tbl.arrow_schema)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_round_trips_through_the_lake(empty_lake, name):
    tbl = TABLES[name]
    lake = Lake(empty_lake)
    written = sample_rows(name)
    if tbl.is_raw:
        lake.append(name, written, DAY, HOUR)
    else:
        lake.replace_partition(name, written, DAY)
        assert lake.read_partition(name, DAY).equals(written)
    con = lake.connect()
    back = con.sql(f"SELECT * FROM {name}")
    assert back.column_names == tbl.column_names + [p.name for p in tbl.partitions]
    assert back.select(tbl.column_names).equals(written)  # same values, same types
    for part in tbl.partitions:
        assert back.schema.field(part.name).type == PARTITION_TYPES[part.hive_type]
    values = {p.name: set(back.column(p.name).to_pylist()) for p in tbl.partitions}
    expected = {"y": DAY.year, "m": DAY.month, "d": DAY.day, "h": HOUR}
    for part in tbl.partitions:
        want = expected[part.name]
        want = f"{want:02d}" if part.hive_type == "STRING" else want  # proxy: '2026', '03'
        assert values[part.name] == {want}, part.name
    assert lake.days(name) == [DAY]
    # the folder layout is Spot's: raw zero-padded with h=, derived unpadded by day
    (path,) = lake.files(name)
    rel = path.parent.relative_to(empty_lake).as_posix()
    if tbl.is_raw:
        assert rel == f"{name}/hive/y=2026/m=03/d=07/h=05"
    else:
        assert rel == f"{tbl.data_type}/hive/oa/{tbl.subdir}/y=2026/m=3/d=7"
    con.close()


def test_rows_with_wrong_columns_are_refused_and_nothing_is_written(empty_lake):
    lake = Lake(empty_lake)
    rows = sample_rows("flow_storyboard").drop_columns(["title"])
    with pytest.raises(LakeError, match="title"):
        lake.replace_partition("flow_storyboard", rows, DAY)
    with pytest.raises(LakeError, match="hour"):
        lake.append("flow", sample_rows("flow"), DAY)
    assert lake.check() == 0


# ---- clear errors -----------------------------------------------------------------------------
def test_missing_lake_is_named(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(LakeError) as info:
        Lake(missing)
    assert str(missing) in str(info.value) and "spot-lab generate" in str(info.value)
    assert "\n" not in str(info.value)


def test_views_of_tables_without_files_appear_when_named_and_follow_new_files(empty_lake):
    lake = Lake(empty_lake)
    con = lake.connect()
    count = "SELECT count(*) AS n FROM {}"
    assert con.sql(count.format("flow_scores")).column("n")[0].as_py() == 0
    con.sql("CREATE VIEW mine AS SELECT * FROM flow_scores")  # a user's view over it
    lake.replace_partition("flow_scores", sample_rows("flow_scores"), DAY)
    assert con.sql(count.format("mine")).column("n")[0].as_py() == 3
    assert con.sql(count.format("flow_scores")).column("n")[0].as_py() == 3
    con.refresh()  # every table, e.g. before handing `con` to plain DuckDB users
    listed = {row[0] for row in con.con.execute("SHOW TABLES").fetchall()}
    assert set(TABLES) <= listed
    con.close()


def test_non_spot_folder_is_named(tmp_path):
    (tmp_path / "photos").mkdir()
    with pytest.raises(LakeError) as info:
        Lake(tmp_path / "photos")
    assert str(tmp_path / "photos") in str(info.value) and "not a Spot lake" in str(info.value)


def test_corrupt_parquet_file_is_named_by_check_and_by_queries(lake_copy):
    lake = Lake(lake_copy)
    victim = sorted(lake.files("dns"))[7]
    healthy = lake.check()
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])  # a torn copy
    with pytest.raises(LakeError) as info:
        lake.check()
    assert str(victim) in str(info.value)
    with pytest.raises(LakeError) as info:
        lake.connect().sql("SELECT count(*) FROM dns")
    assert str(victim) in str(info.value)
    engine = DuckDBEngine(lake)
    with pytest.raises(QueryError) as info:
        engine.arrow("SELECT count(*) FROM dns")
    assert str(victim) in str(info.value)
    # other tables stay readable
    assert engine.arrow("SELECT count(*) AS n FROM flow").column("n")[0].as_py() > 0
    engine.close()
    assert healthy > 0


def test_corrupt_derived_partition_refuses_updates_naming_the_file(empty_lake):
    lake = Lake(empty_lake)
    lake.replace_partition("proxy_storyboard", sample_rows("proxy_storyboard"), DAY)
    (path,) = lake.files("proxy_storyboard")
    path.write_bytes(b"garbage")
    for attempt in (
        lambda: lake.read_partition("proxy_storyboard", DAY),
        lambda: lake.append_rows("proxy_storyboard", sample_rows("proxy_storyboard"), DAY),
    ):
        with pytest.raises(LakeError) as info:
            attempt()
        assert str(path) in str(info.value)
    assert path.read_bytes() == b"garbage"  # left for the user to inspect, not overwritten


def test_cli_check_reports_a_corrupt_file_in_one_line(lake_copy, capsys):
    from spot_lab import cli

    assert cli.main(["check", "--lake", str(lake_copy)]) == 0
    assert "all readable" in capsys.readouterr().out
    victim = sorted(Lake(lake_copy).files("proxy"))[0]
    victim.write_bytes(b"PAR1 not really")
    assert cli.main(["check", "--lake", str(lake_copy)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(victim) in err


# ---- concurrency ------------------------------------------------------------------------------
def run_python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


WRITER = """
    import datetime as dt, sys
    import pyarrow as pa
    from spot_lab.store.lake import Lake
    root, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lake = Lake(root)
    con = lake.connect()
    day = dt.date(2026, 11, 28)
    seen = 0
    for i in range(count):
        row = pa.table({"tstart": ["2026-11-28 10:00:00"], "srcip": [f"10.0.0.{i % 250}"],
                        "dstip": [tag], "srcport": [i], "dstport": [443], "score": [1 + i % 3]})
        lake.append_rows("flow_threat_investigation", row, day)
        n = con.sql("SELECT count(*) AS n FROM flow_threat_investigation").column("n")[0].as_py()
        assert n >= seen, (n, seen)  # a reader never sees rows disappear
        seen = n
    print(seen)
"""


def test_two_processes_append_and_read_without_losing_a_write(lake_copy):
    count = 40
    writers = [run_python(WRITER, str(lake_copy), tag, str(count)) for tag in ("A", "B")]
    results = [w.communicate(timeout=300) for w in writers]
    for writer, (out, err) in zip(writers, results, strict=True):
        assert writer.returncode == 0, err
        assert int(out) >= count
    got = Lake(lake_copy).read_partition("flow_threat_investigation", dt.date(2026, 11, 28))
    keys = sorted(
        zip(got.column("dstip").to_pylist(), got.column("srcport").to_pylist(), strict=True)
    )
    assert keys == sorted((tag, i) for tag in ("A", "B") for i in range(count))


def test_a_writer_killed_mid_write_leaves_the_previous_or_the_new_content(empty_lake):
    lake = Lake(empty_lake)
    day = dt.date(2026, 11, 28)
    rng = random.Random(3)
    last_committed = 0
    for _round in range(5):
        writer = run_python(KILLABLE_WRITER, str(empty_lake), str(last_committed))
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.3, 1.5))
        os.kill(writer.pid, signal.SIGKILL)
        out, _err = writer.communicate(timeout=60)
        assert writer.returncode == -signal.SIGKILL
        committed = [int(x) for x in out.split()]
        lake.check()  # every visible parquet file is whole
        content = lake.read_partition("flow_storyboard", day)
        versions = set(content.column("title").to_pylist())
        if content.num_rows:
            assert content.num_rows == 150_000 and len(versions) == 1  # one whole version
            (version,) = versions
            assert int(version) >= (committed[-1] if committed else last_committed)
            assert int(version) <= (committed[-1] if committed else last_committed) + 1
            last_committed = int(version)
        for path in lake.files("dns"):  # raw appends: complete files only
            assert pq.read_metadata(path).num_rows == 2_000
    assert last_committed > 0  # the writers did make progress between the kills
    # a new writer after the kills is not blocked by a lock the dead ones held
    lake.append_rows("flow_storyboard", pa.table({"ip_threat": ["1.2.3.4"], "title": ["t"],
                                                  "text": ["after"]}), day)  # fmt: skip
    assert lake.read_partition("flow_storyboard", day).num_rows == 150_001


KILLABLE_WRITER = """
    import datetime as dt, sys
    import pyarrow as pa
    from spot_lab.store.lake import Lake
    from spot_lab.store.schema import TABLES
    lake = Lake(sys.argv[1])
    day = dt.date(2026, 11, 28)
    version = int(sys.argv[2])
    rows = 150_000
    dns = TABLES["dns"].arrow_schema
    raw = pa.table({f.name: pa.array([None] * 2_000, f.type) for f in dns}, schema=dns)
    print("ready", flush=True)
    while True:
        version += 1
        text = f"version {version} " + "x" * 40
        table = pa.table({"ip_threat": [f"10.0.{i // 250 % 250}.{i % 250}" for i in range(rows)],
                          "title": [str(version)] * rows, "text": [text] * rows})
        lake.replace_partition("flow_storyboard", table, day)
        print(version, flush=True)
        lake.append("dns", raw, day, version % 24)
"""
