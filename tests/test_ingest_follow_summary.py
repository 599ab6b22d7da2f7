"""--follow ingests files as they are written; the ingest summary counts records per minute
of every day touched (Spot's <type>_ingest_summary) and charts them."""

from __future__ import annotations

import io
import threading
import time
from collections import Counter

from spot_lab.cli import main
from spot_lab.ingest import ingest
from spot_lab.ingest.follow import follow
from spot_lab.ingest.run import open_lake
from spot_lab.ingest.summary import chart, summary_figure
from tests.ingest_support import ZEEK, conn_header, conn_line, table, write_conn


def _wait_rows(lake, n, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if table(lake, "SELECT count(*) AS n FROM flow")["n"][0].as_py() >= n:
                return True
        except Exception:  # noqa: BLE001 - the lake may have no flow files yet
            pass
        time.sleep(0.2)
    return False


def test_follow_ingests_files_and_lines_as_they_are_written(tmp_path):
    live = tmp_path / "zeek" / "current"
    live.mkdir(parents=True)
    lake = open_lake(tmp_path / "lake")
    stop, out = threading.Event(), io.StringIO()
    worker = threading.Thread(target=follow, args=([str(tmp_path / "zeek")], lake),
                              kwargs={"interval": 0.3, "progress": False, "stop": stop, "out": out})  # fmt: skip
    worker.start()
    try:
        log = live / "conn.log"
        log.write_text(
            conn_header() + "".join(conn_line(1795856400.0 + i, i) + "\n" for i in range(5))
        )
        assert _wait_rows(lake.root, 5)
        with open(log, "a") as fh:  # Zeek appends to its live log
            fh.write("".join(conn_line(1795856400.0 + i, i) + "\n" for i in range(5, 9)))
        assert _wait_rows(lake.root, 9)
        write_conn(live / "conn.rotated.log", 3, first=100)  # a new file appears
        assert _wait_rows(lake.root, 12)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    uids = table(lake.root, "SELECT uid FROM flow ORDER BY uid")["uid"].to_pylist()
    assert uids == sorted(
        [f"C{i:012d}" for i in range(9)] + [f"C{i:012d}" for i in range(100, 103)]
    )
    assert "following 1 source(s)" in out.getvalue()


def test_ingest_summary_counts_records_per_minute_of_each_day(tmp_path, capsys):
    lake = tmp_path / "lake"
    # 150 connections 20 s apart across midnight: two days touched
    write_conn(tmp_path / "conn.log", 150, start=1795910400.0 - 1500, step=20.0)
    ingest([tmp_path / "conn.log", ZEEK / "dns.log"], lake, progress=False)
    minutes = Counter()
    for r in table(lake, "SELECT unix_tstamp FROM flow").to_pylist():
        at = time.gmtime(r["unix_tstamp"])
        minutes[f"{at.tm_year}-{at.tm_mon}-{at.tm_mday} {at.tm_hour}:{at.tm_min}"] += 1
    rows = table(lake, "SELECT tdate, total, d FROM flow_ingest_summary").to_pylist()
    assert {r["tdate"]: r["total"] for r in rows} == dict(minutes)  # flow: unpadded, as Spot
    assert {r["d"] for r in rows} == {28, 29} and sum(minutes.values()) == 150
    dns = table(lake, "SELECT tdate FROM dns_ingest_summary ORDER BY tdate").to_pylist()
    assert dns[0]["tdate"] == "2013-09-15 23:44"  # dns and proxy: zero-padded
    assert main(["ingest", "--summary", "--lake", str(lake)]) == 0
    text = capsys.readouterr().out
    assert "flow 2026-11-28: 75 records" in text and "flow 2026-11-29: 75 records" in text
    assert "23:00 " in text and "█" in text
    assert chart(lake).splitlines()[0].startswith("flow 2026-11-28")
    fig = summary_figure(lake, "flow")
    assert fig.axes[0].get_title() == "flow: records ingested per minute"
