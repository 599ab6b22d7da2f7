"""Incremental, idempotent, atomic: reruns ingest nothing, rotated logs only new files, a live
file only its new complete lines, a changed file replaces its rows, a rotated copy is no
duplicate, and a SIGKILL mid-ingest leaves whole files that the next run completes."""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from spot_lab.ingest import ingest, manifest
from spot_lab.store.lake import Lake
from tests.ingest_support import ZEEK, conn_header, conn_line, parquet_files, table, write_conn
from tests.support import snapshot


def _uids(lake):
    return table(lake, "SELECT uid FROM flow ORDER BY uid")["uid"].to_pylist()


def test_rerun_ingests_nothing_and_changes_nothing(tmp_path):
    lake = tmp_path / "lake"
    first = ingest(ZEEK, lake, progress=False)
    assert first.rows["flow"] > 0
    before = snapshot(lake)
    again = ingest(ZEEK, lake, progress=False)
    assert again.rows == {} and {f.status for f in again.files} <= {
        "unchanged",
        "skipped",
        "refused",
    }
    assert snapshot(lake) == before  # not one byte rewritten (manifest and state aside)


def test_rotated_logs_add_only_the_new_files(tmp_path):
    logs = tmp_path / "zeek" / "2026-11-28"
    logs.mkdir(parents=True)
    write_conn(logs / "conn.09:00:00-10:00:00.log", 50, first=0)
    lake = tmp_path / "lake"
    ingest(tmp_path / "zeek", lake, progress=False)
    gz = logs / "conn.10:00:00-11:00:00.log.gz"
    write_conn(tmp_path / "next.log", 30, first=50)
    gz.write_bytes(gzip.compress((tmp_path / "next.log").read_bytes()))
    report = ingest(tmp_path / "zeek", lake, progress=False)
    assert [(f.path.name, f.status, f.total) for f in report.files] == [
        ("conn.09:00:00-10:00:00.log", "unchanged", 0), ("conn.10:00:00-11:00:00.log.gz", "new", 30)]  # fmt: skip
    assert _uids(lake) == [f"C{i:012d}" for i in range(80)]


def test_a_live_file_gives_only_its_new_complete_lines(tmp_path):
    live = tmp_path / "conn.log"
    lines = [conn_line(1795856400.0 + i, i) for i in range(12)]
    live.write_text(
        conn_header() + "\n".join(lines[:10]) + "\n" + lines[10][:25]
    )  # writing line 11
    lake = tmp_path / "lake"
    (first,) = ingest(live, lake, progress=False).files
    assert first.total == 10 and first.held > 0 and "waits for its newline" in first.line()
    with open(live, "a") as fh:
        fh.write(lines[10][25:] + "\n" + lines[11] + "\n")
    (second,) = ingest(live, lake, progress=False).files
    assert (second.status, second.total, second.rejected) == ("grown", 2, 0)
    assert _uids(lake) == [f"C{i:012d}" for i in range(12)]
    (third,) = ingest(live, lake, progress=False).files
    assert third.status == "unchanged"


def test_a_changed_file_replaces_its_own_rows(tmp_path):
    log = write_conn(tmp_path / "conn.log", 20)
    lake = tmp_path / "lake"
    ingest(log, lake, progress=False)
    old_files = parquet_files(lake)
    lines = log.read_text().splitlines()
    del lines[10]  # uid C...002 goes, and one row changes its bytes
    lines[12] = lines[12].replace("\t4420\t", "\t9999\t")
    log.write_text("\n".join(lines) + "\n")
    (result,) = ingest(log, lake, progress=False).files
    assert result.status == "changed" and result.total == 19
    assert _uids(lake) == [f"C{i:012d}" for i in range(20) if i != 2]
    assert table(lake, "SELECT count(*) AS n FROM flow WHERE obyt = 9999")["n"][0].as_py() == 1
    assert all(not p.exists() or p in parquet_files(lake) for p in old_files)


def test_a_rotated_or_copied_log_is_not_ingested_twice(tmp_path):
    current, archive = tmp_path / "current", tmp_path / "2026-11-28"
    current.mkdir()
    archive.mkdir()
    log = write_conn(current / "conn.log", 40, close=False)
    lake = tmp_path / "lake"
    ingest([current, archive], lake, progress=False)
    # Zeek rotates: the live log (plus its last lines) is compressed into the dated folder,
    # and a new live log starts
    full = log.read_text() + "\n".join(conn_line(1795856400.0 + i, i) for i in range(40, 45)) + "\n"
    (archive / "conn.09:00:00-10:00:00.log.gz").write_bytes(gzip.compress(full.encode()))
    write_conn(log, 10, first=100)
    shutil.copy(archive / "conn.09:00:00-10:00:00.log.gz", tmp_path / "copy-of-archive.log.gz")
    report = ingest([current, archive, tmp_path / "copy-of-archive.log.gz"], lake, progress=False)
    by_name = {f.path.name: f for f in report.files}
    assert by_name["conn.09:00:00-10:00:00.log.gz"].status == "moved"
    assert by_name["conn.09:00:00-10:00:00.log.gz"].total == 5  # only what the live file lacked
    assert by_name["conn.log"].status == "new" and by_name["conn.log"].total == 10
    assert by_name["copy-of-archive.log.gz"].status == "copy"
    assert _uids(lake) == sorted(
        [f"C{i:012d}" for i in range(45)] + [f"C{i:012d}" for i in range(100, 110)]
    )


def test_a_crash_between_renames_and_record_is_finished_by_the_next_run(tmp_path, monkeypatch):
    log = write_conn(tmp_path / "conn.log", 30, step=600.0)  # five hours: five files
    lake = tmp_path / "lake"
    real_replace = os.replace
    calls = []

    def crash_after_two(src, dst):
        if str(dst).endswith(".parquet") and "/hive/" in str(dst):
            calls.append(dst)
            if len(calls) == 3:
                raise KeyboardInterrupt  # the process dies half-way through its renames
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        ingest(log, lake, progress=False)
    monkeypatch.setattr(os, "replace", real_replace)
    assert len(parquet_files(lake)) == 2  # whole files only, no record yet
    assert list((lake / ".spot-lab/ingest/journal").iterdir())
    (result,) = ingest(log, lake, progress=False).files  # recover() completes the journal
    assert result.status == "unchanged"
    assert _uids(lake) == [f"C{i:012d}" for i in range(30)]


def test_sigkill_mid_ingest_leaves_whole_files_and_the_next_run_finishes(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    for n in range(24):  # 24 hourly logs of 20,000 connections
        write_conn(logs / f"conn.{n:02d}.log", 20_000, start=1795824000.0 + n * 3600, step=0.18,
                   first=n * 20_000)  # fmt: skip
    lake = tmp_path / "lake"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    cmd = [
        sys.executable,
        "-m",
        "spot_lab.cli",
        "ingest",
        str(logs),
        "--lake",
        str(lake),
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    records = lake / ".spot-lab" / "ingest" / "files"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if records.is_dir() and len(list(records.glob("*.json"))) >= 3:  # not a record's temp file
            break
        for path in parquet_files(lake) if lake.is_dir() else []:  # readers see whole files only
            pq.read_metadata(path)
        time.sleep(0.05)
    assert proc.poll() is None, "ingest ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert Lake(lake).check() == len(parquet_files(lake)) > 0  # every visible file is whole
    done = len(manifest.load_all(Lake(lake)))
    assert 3 <= done < 24
    report = ingest(logs, lake, progress=False)
    assert sum(f.status == "unchanged" for f in report.files) >= done
    got = table(lake, "SELECT count(*) AS n, count(DISTINCT uid) AS u FROM flow").to_pylist()[0]
    assert got == {"n": 480_000, "u": 480_000}
    assert not list((lake / ".spot-lab/ingest").glob("staging/*"))


def test_a_copy_with_more_lines_gives_only_the_lines_after_the_copy(tmp_path):
    first = write_conn(tmp_path / "conn.log", 20, close=False)
    lake = tmp_path / "lake"
    ingest(first, lake, progress=False)
    longer = tmp_path / "b.log.gz"
    extra = "".join(conn_line(1795856400.0 + i, i) + "\n" for i in range(20, 26))
    longer.write_bytes(gzip.compress((first.read_text() + extra).encode()))
    (result,) = ingest(longer, lake, progress=False).files
    assert (result.status, result.total) == ("extends", 6)
    assert _uids(lake) == [f"C{i:012d}" for i in range(26)]
    assert ingest([first, longer], lake, progress=False).rows == {}
