"""Bad input: the good lines go in, the bad ones are kept under <lake>/rejects/ with file and
line number, one summary line per file, exit status 2, never a traceback or a silent drop."""

from __future__ import annotations

import json
import os
import shutil

from spot_lab.cli import main
from spot_lab.ingest import ingest
from tests.ingest_support import SENSORS, ZEEK, conn_header, conn_line, parquet_files, table
from tests.support import snapshot

BAD = {
    9: "wrong field count",  # line numbers in the file below (8 header lines first)
    11: "bad orig_pkts value",
    13: "all unset",
    14: "far in time",
}


def _bad_conn(path):
    lines = [conn_line(1795856400.0 + i, i) for i in range(8)]
    lines.insert(0, "1795856400.5\tCshort\t10.0.0.1\t1234")  # line 9: 4 fields
    fields = conn_line(1795856402.0, 90).split("\t")
    fields[15] = "abc"  # orig_pkts
    lines.insert(2, "\t".join(fields))  # line 11
    lines.insert(4, "\t".join(["-"] * 20))  # line 13: every field #unset_field
    lines.insert(5, conn_line(946684800.0, 91))  # line 14: the year 2000 in a 2026 log
    lines.insert(6, "")  # line 15: an empty line carries nothing (no row, no reject)
    path.write_text(conn_header() + "\n".join(lines) + "\n")
    return path


def test_bad_lines_are_rejected_with_their_line_numbers(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the summary names files relative to the working folder
    log = _bad_conn(tmp_path / "conn.log")
    lake = tmp_path / "lake"
    status = main(["ingest", str(log), "--lake", str(lake), "--quiet"])
    out, err = capsys.readouterr()
    assert status == 2 and err == "" and "Traceback" not in out
    (line, tail) = out.strip().splitlines()
    rejects = "rejects/conn.log." + os.listdir(lake / "rejects")[0].split(".", 2)[2]
    assert line == f"conn.log: 8 rows, 4 rejected (see {rejects})"
    assert tail.startswith("1 files, 8 new rows")
    records = [json.loads(x) for x in (lake / rejects).read_text().splitlines()]
    by_line = {r["line"]: r for r in records}
    assert sorted(by_line) == sorted(BAD)
    assert all(r["file"] == str(log) for r in records)
    assert "fields, expected 20" in by_line[9]["reason"] and by_line[9]["text"].startswith(
        "1795856400.5\tCshort"
    )
    assert by_line[11]["reason"] == "bad orig_pkts value: abc" and "\tabc\t" in by_line[11]["text"]
    assert by_line[13]["reason"].startswith("no valid event time (ts)")
    assert (
        "2000-01-01 00:00:00 UTC" in by_line[14]["reason"]
        and "C000000000091" in by_line[14]["text"]
    )
    uids = table(lake, "SELECT uid FROM flow ORDER BY uid")["uid"].to_pylist()
    assert uids == [f"C{i:012d}" for i in range(8)]  # exactly the good lines


def test_truncated_gzip_keeps_every_line_before_the_cut(tmp_path):
    lake = tmp_path / "lake"
    (result,) = ingest(ZEEK / "http.log.corrupt.gz", lake, progress=False).files
    assert result.total == 150 and result.rejected == 1  # all 150 requests, then the cut
    (record,) = [json.loads(x) for x in (lake / result.rejects).read_text().splitlines()]
    assert record["line"] == 159 and "truncated or corrupt" in record["reason"]


def test_an_unknown_zeek_field_is_kept_not_rejected(tmp_path):
    fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
              "orig_pkts", "orig_ip_bytes", "my_site_tag"]  # fmt: skip
    types = ["time", "string", "addr", "port", "addr", "port", "enum", "count", "count", "string"]
    rows = ["1795856400.0\tCx1\t10.0.0.5\t5555\t10.0.0.9\t22\ttcp\t3\t180\tlab-7",
            "1795856401.0\tCx2\t10.0.0.5\t5556\t10.0.0.9\t22\ttcp\t-\t-\t-"]  # fmt: skip
    log = tmp_path / "conn.log"
    log.write_text(conn_header("conn", fields, types) + "\n".join(rows) + "\n")
    lake = tmp_path / "lake"
    (result,) = ingest(log, lake, progress=False).files
    assert result.total == 2 and result.rejected == 0
    got = table(lake, "SELECT uid, ipkt, extra, conn_state FROM flow ORDER BY uid").to_pylist()
    assert json.loads(got[0]["extra"]) == {"my_site_tag": "lab-7"} and got[0]["ipkt"] == 3
    assert got[1]["ipkt"] is None and got[1]["conn_state"] is None  # fields Zeek left unset


def test_files_that_are_no_log_are_refused_by_name(tmp_path, capsys):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "notes.txt").write_text("Meeting notes\nThe firewall change is on Tuesday.\n")
    (logs / "image.bin").write_bytes(bytes(range(256)) * 40)
    shutil.copy(ZEEK / "ssl.log", logs / "ssl.log")  # a Zeek log without a Spot table
    lake = tmp_path / "lake"
    assert main(["ingest", str(logs), "--lake", str(lake), "--quiet"]) == 2
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f"{logs / 'image.bin'}: refused: a binary file that is no log")
    assert lines[1].startswith(f"{logs / 'notes.txt'}: refused: not a log spot-lab knows")
    assert (
        lines[2]
        == f"{logs / 'ssl.log'}: skipped (a Zeek ssl log: spot-lab maps Zeek conn, dhcp, dns, http)"
    )
    assert parquet_files(lake) == []


def test_a_zeek_log_alone_of_a_kind_without_a_table_is_not_an_error(tmp_path, capsys):
    assert main(["ingest", str(ZEEK / "ssl.log"), "--lake", str(tmp_path / "lake"), "--quiet"]) == 0


def test_a_folder_that_is_neither_empty_nor_a_lake_is_refused_untouched(tmp_path, capsys):
    mine = tmp_path / "my-documents"
    mine.mkdir()
    (mine / "thesis.tex").write_text("\\documentclass{article}")
    before = snapshot(tmp_path)
    assert main(["ingest", str(ZEEK / "conn.log"), "--lake", str(mine), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "neither empty nor a Spot lake" in err and "--lake" in err
    assert snapshot(tmp_path) == before and not (mine / ".spot-lab").exists()


def test_missing_sources_are_named_and_paths_with_odd_characters_work(tmp_path, capsys):
    odd = tmp_path / "we[ir]d 'dir' \\ *x"
    odd.mkdir()
    shutil.copy(ZEEK / "conn.log", odd / "conn[1]*.log")
    lake = tmp_path / "lake's [copy]"
    status = main(
        ["ingest", str(odd), str(tmp_path / "nothing-here.log"), "--lake", str(lake), "--quiet"]
    )
    out = capsys.readouterr().out
    assert (
        status == 2
        and f"{tmp_path / 'nothing-here.log'}: refused:" in out
        and "no such file" in out
    )
    assert f"{odd / 'conn[1]*.log'}: 360 rows" in out
    assert table(lake, "SELECT count(*) AS n FROM flow")["n"][0].as_py() == 360
    # a glob still works for names that do not exist literally
    again = main(["ingest", str(tmp_path / "we*" / "*.log"), "--lake", str(lake), "--quiet"])
    assert again == 0 and "unchanged" in capsys.readouterr().out


def test_broken_eve_lines_are_rejected_and_the_rest_routed(tmp_path):
    lines = (SENSORS / "eve.json").read_text().splitlines()
    lines.insert(
        3, '{"timestamp": "2026-11-28T10:00:00.000000+0000", "event_type": "flow", "src_ip": '
    )
    lines.insert(5, '{"timestamp": "2026-11-28T10:00:00.000000+0000", "src_ip": "10.0.0.1"}')
    log = tmp_path / "eve.json"
    log.write_text("\n".join(lines) + "\n")
    lake = tmp_path / "lake"
    (result,) = ingest(log, lake, progress=False).files
    assert result.rows == {"dns": 3, "flow": 4, "proxy": 1} and result.rejected == 2
    records = {
        r["line"]: r["reason"]
        for r in map(json.loads, (lake / result.rejects).read_text().splitlines())
    }
    assert records == {4: "not a JSON object", 6: "no event_type: not a Suricata EVE event"}
