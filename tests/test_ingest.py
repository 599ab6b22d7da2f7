"""spot-lab ingest on real Zeek logs (zat's samples), written-to-format Suricata EVE and Blue
Coat logs: Spot's exact formats, the sensors' extra fields, partitions from event times."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from spot_lab.ingest import ingest
from spot_lab.ingest.mapping import all_mappings
from spot_lab.store.schema import TABLES
from tests.ingest_support import SENSORS, ZEEK, data_lines, table, write_conn

ZEEK_SAMPLES = ["conn.log", "conn_date_issue.log", "dns.log", "http.log", "http.log.gz",
                "dhcp.log", "json/conn.log", "json/dns.log", "json/http.log", "json/dhcp.log"]  # fmt: skip
TABLE_OF = {"conn": "flow", "dns": "dns", "http": "proxy", "dhcp": "ip_leases"}
TRECEIVED = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
FRAME_TIME = re.compile(r"^[A-Z][a-z]{2} [ 123]\d \d{4} \d{2}:\d{2}:\d{2}\.\d{9} UTC$")


def _utc(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


@pytest.mark.parametrize("name", ZEEK_SAMPLES)
def test_real_zeek_logs_ingest_with_zero_rejects_and_their_row_count(tmp_path, name):
    lake = tmp_path / "lake"
    report = ingest(ZEEK / name, lake, progress=False)
    (result,) = report.files
    kind = name.split("/")[-1].split(".")[0].split("_")[0]
    assert result.rejected == 0 and report.exit_status == 0
    assert list(result.rows) == [TABLE_OF[kind]]
    # every line is a row, except DNS transactions Zeek saw no response for (counted)
    lines = data_lines(ZEEK / name)
    assert result.total + sum(result.skipped.values()) == len(lines)
    if kind == "dns":
        no_answer = sum(1 for ln in lines if '"rcode"' not in ln) if name.startswith("json") else \
            sum(1 for ln in lines if ln.split("\t")[13] == "-")  # fmt: skip
        assert dict(result.skipped) == {"transactions without a response": no_answer} and no_answer
    stored = table(lake, f"SELECT count(*) AS n FROM {TABLE_OF[kind]}")["n"][0].as_py()
    assert stored == result.total > 0


def test_zeek_conn_line_becomes_spots_flow_row(tmp_path):
    lake = tmp_path / "lake"
    ingest(ZEEK / "conn.log", lake, progress=False)
    # first data line: 1379288667.706265 CoyZrY2g74UvMMgp4a 192.168.33.10 1032 54.245.228.191
    # 80 tcp http 0.447460 601 38393 RSTO - 0 ShADadR 22 1489 31 39641
    (row,) = table(lake, "SELECT * FROM flow WHERE uid = 'CoyZrY2g74UvMMgp4a'").to_pylist()
    assert row["treceived"] == "2013-09-15 23:44:27" and row["unix_tstamp"] == 1379288667
    assert (row["tryear"], row["trmonth"], row["trday"], row["trhour"], row["trminute"],
            row["trsec"]) == (2013, 9, 15, 23, 44, 27)  # fmt: skip
    assert (row["sip"], row["sport"], row["dip"], row["dport"], row["proto"]) == (
        "192.168.33.10", 1032, "54.245.228.191", 80, "TCP")  # fmt: skip
    assert (row["ipkt"], row["ibyt"], row["opkt"], row["obyt"]) == (22, 1489, 31, 39641)
    assert row["tdur"] == pytest.approx(0.44746)
    # history ShADadR: SYN (S, H), ACK (A, H, D), data (D -> PSH), RST (R), no FIN
    assert row["flag"] == ".APRS."
    assert (row["sensor"], row["service"], row["conn_state"], row["history"]) == (
        "zeek", "http", "RSTO", "ShADadR")  # fmt: skip
    extra = json.loads(row["extra"])  # Zeek fields without a column are kept
    assert extra["orig_bytes"] == "601" and extra["resp_bytes"] == "38393"
    assert (row["y"], row["m"], row["d"], row["h"]) == (2013, 9, 15, 23)


def test_spot_formats_and_time_columns_agree_on_every_row(tmp_path):
    lake = tmp_path / "lake"
    ingest([ZEEK / "conn.log", ZEEK / "json/dns.log", ZEEK / "http.log"], lake, progress=False)
    for row in table(lake, "SELECT * FROM flow").to_pylist():
        at = _utc(row["unix_tstamp"])
        assert TRECEIVED.match(row["treceived"]) and row["treceived"] == at.strftime(
            "%Y-%m-%d %H:%M:%S"
        )
        assert (row["trhour"], row["trminute"], row["trsec"]) == (at.hour, at.minute, at.second)
        assert (row["y"], row["m"], row["d"], row["h"]) == (at.year, at.month, at.day, at.hour)
        assert re.fullmatch(r"[.U][.A][.P][.R][.S][.F]", row["flag"])
    for row in table(lake, "SELECT * FROM dns").to_pylist():
        assert FRAME_TIME.match(row["frame_time"]), row["frame_time"]
        assert row["frame_time"].split(".")[0] == _utc(row["unix_tstamp"]).strftime(
            "%b %e %Y %H:%M:%S"
        )
        assert re.fullmatch(r"0x[0-9a-f]{8}", row["dns_qry_class"])
    for row in table(lake, "SELECT * FROM proxy").to_pylist():
        path = row["uripath"] if len(row["uripath"]) > 1 else ""
        query = row["uriquery"] if len(row["uriquery"]) > 1 else ""
        assert row["fulluri"] == row["host"] + path + query
        assert (row["y"], row["m"], row["d"]) == tuple(row["p_date"].split("-"))
        assert row["h"] == row["p_time"][:2] and isinstance(row["h"], str)  # proxy: text partitions


def test_zeek_dns_answers_class_and_client_side(tmp_path):
    lake = tmp_path / "lake"
    ingest(ZEEK / "dns.log", lake, progress=False)
    rows = table(lake, "SELECT * FROM dns WHERE dns_qry_name = 'www.guyspy.com'").to_pylist()
    # 1379288667.696869 ... 192.168.33.10 1030 4.2.2.3 53 udp 50071 www.guyspy.com 1 C_INTERNET
    # 1 A 0 NOERROR ... answers guyspy.com,54.245.228.191
    row = next(r for r in rows if r["trans_id"] == 50071)
    assert (row["ip_dst"], row["ip_src"]) == ("192.168.33.10", "4.2.2.3")  # client = ip_dst
    assert (row["dns_qry_class"], row["dns_qry_type"], row["dns_qry_rcode"]) == ("0x00000001", 1, 0)
    assert row["dns_a"] == "guyspy.com|54.245.228.191"
    assert row["frame_time"] == "Sep 15 2013 23:44:27.696869000 UTC"


def test_suricata_eve_events_go_to_flow_dns_and_proxy(tmp_path):
    lake = tmp_path / "lake"
    (result,) = ingest(SENSORS / "eve.json", lake, progress=False).files
    assert result.rows == {"dns": 3, "flow": 4, "proxy": 1} and result.rejected == 0
    assert result.skipped == {
        "DNS queries (Spot keeps responses)": 1,
        "Suricata alert events (no Spot table)": 1,
        "Suricata fileinfo events (no Spot table)": 1,
        "Suricata stats events (no Spot table)": 1,
    }
    flows = {r["uid"]: r for r in table(lake, "SELECT * FROM flow").to_pylist()}
    web = flows["1832230949901733"]
    assert (web["sip"], web["dip"], web["dport"], web["proto"]) == (
        "10.0.10.23",
        "93.184.216.34",
        80,
        "TCP",
    )
    assert (web["ipkt"], web["ibyt"], web["opkt"], web["obyt"]) == (12, 1514, 38, 52077)
    assert web["treceived"] == "2026-11-28 10:00:02"  # the flow's start, not the log time
    assert web["tdur"] == pytest.approx(0.719751, abs=1e-5)
    assert (web["flag"], web["app_proto"], web["conn_state"]) == (".AP.SF", "http", "closed")
    scan = flows["611825203394427"]  # an unanswered SYN: what a scan detector looks for
    assert (scan["flag"], scan["conn_state"], scan["opkt"]) == ("....S.", "new", 0)
    ping = flows["99281734561"]  # ICMP as nfdump writes it: type 8 * 256 + code 0
    assert (ping["sport"], ping["dport"]) == (0, 2048)
    dns = {r["dns_qry_name"]: r for r in table(lake, "SELECT * FROM dns").to_pylist()}
    answer = dns["www.example.com"]
    assert (answer["ip_dst"], answer["ip_src"], answer["dns_qry_type"], answer["dns_qry_rcode"]) == (
        "10.0.10.23", "10.0.1.53", 1, 0)  # fmt: skip
    assert answer["dns_a"] == "example.com|93.184.216.34"
    nx = dns["qx7kz2m9ffa.cloudsync-metrics.net"]
    assert (nx["dns_qry_type"], nx["dns_qry_rcode"], nx["dns_a"]) == (16, 3, None)
    ptr = dns["12.30.0.10.in-addr.arpa"]  # Suricata 8's version 3 record
    assert (ptr["dns_qry_type"], ptr["dns_a"]) == (12, "vpn-laptop-12.corp.example")
    (web_req,) = table(lake, "SELECT * FROM proxy").to_pylist()
    assert web_req["fulluri"] == "www.example.com/downloads/report.pdf?id=42&lang=en"
    assert (web_req["uripath"], web_req["uriquery"], web_req["uriextension"]) == (
        "/downloads/report.pdf", "?id=42&lang=en", "pdf")  # fmt: skip
    assert (web_req["respcode"], web_req["resconttype"], web_req["scbytes"]) == (
        "200",
        "application/pdf",
        48213,
    )
    assert json.loads(web_req["extra"])["http"]["protocol"] == "HTTP/1.1"  # the whole event is kept


def test_bluecoat_elff_maps_field_for_field_like_spot(tmp_path):
    lake = tmp_path / "lake"
    (result,) = ingest(SENSORS / "bluecoat.log", lake, progress=False).files
    assert result.total == 5 and result.rejected == 0
    rows = {r["host"]: r for r in table(lake, "SELECT * FROM proxy").to_pylist()}
    denied = rows["casino.example.net"]
    assert (denied["p_date"], denied["p_time"], denied["clientip"], denied["username"]) == (
        "2026-11-28", "10:00:09", "10.0.20.7", "ben.jones3")  # fmt: skip
    assert (denied["filterresult"], denied["action"], denied["respcode"], denied["webcat"]) == (
        "DENIED", "TCP_DENIED", "403", "Gambling;Games")  # fmt: skip
    assert denied["useragent"] == "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0"
    assert denied["fulluri"] == "casino.example.net/play?room=7&user=ben"
    assert (denied["duration"], denied["scbytes"], denied["csbytes"], denied["serverip"]) == (
        87,
        1022,
        377,
        "10.0.0.4",
    )
    tunnel = rows["upload.safe-backup-share.net"]  # CONNECT: path '/' is not part of fulluri
    assert (tunnel["reqmethod"], tunnel["uripath"], tunnel["fulluri"]) == (
        "CONNECT",
        "/",
        "upload.safe-backup-share.net",
    )
    assert rows["www.example.com"]["resconttype"] in ("text/html", "image/png")


def test_partitions_come_from_each_events_time_not_the_file_name(tmp_path):
    logs = tmp_path / "logs" / "2020-01-01"  # a misleading dated folder and name
    logs.mkdir(parents=True)
    midnight = 1795910400.0  # 2026-11-29 00:00:00 UTC
    write_conn(logs / "conn.2020-01-01.log", 6, start=midnight - 3, step=1.0)
    lake = tmp_path / "lake"
    ingest(logs, lake, progress=False)
    parts = table(
        lake, "SELECT y, m, d, h, count(*) AS n FROM flow GROUP BY ALL ORDER BY ALL"
    ).to_pylist()
    assert parts == [
        {"y": 2026, "m": 11, "d": 28, "h": 23, "n": 3},
        {"y": 2026, "m": 11, "d": 29, "h": 0, "n": 3},
    ]
    assert (
        table(lake, "SELECT count(DISTINCT d) AS n FROM flow_ingest_summary")["n"][0].as_py() == 2
    )


def test_logs_ingested_into_a_spot_lake_leave_its_other_tables_readable(tmp_path):
    """Zeek conn logs into a lake of Spot's own files: flow reads both; dns and proxy, which
    no ingested file reached, still read (their views failed on the missing `sensor`)."""
    from spot_lab.demo.generator import generate

    lake = tmp_path / "lake"
    generate(lake, dt.date(2026, 11, 28), days=1, flows_per_day=2000, seed=5, progress=False)
    ingest(ZEEK / "conn.log", lake, progress=False)
    counts = {t: table(lake, f"SELECT count(*) AS n, count(sensor) AS s FROM {t}").to_pylist()[0]
              for t in ("flow", "dns", "proxy")}  # fmt: skip
    assert counts["flow"]["s"] == 360 and counts["flow"]["n"] > 360
    assert counts["dns"]["n"] > 0 and counts["proxy"]["n"] > 0
    assert counts["dns"]["s"] == counts["proxy"]["s"] == 0


def test_every_mapping_lists_every_column_of_its_table():
    # the loader refuses incomplete mappings; here: the set of sources the issue names
    names = {(m.source, m.kind, m.table) for m in all_mappings().values()}
    assert {("zeek", "conn", "flow"), ("zeek", "dns", "dns"), ("zeek", "http", "proxy"),
            ("suricata", "flow", "flow"), ("suricata", "dns", "dns"), ("suricata", "http", "proxy"),
            ("nfdump", "flow", "flow"), ("tshark", "dns", "dns"), ("squid", "access", "proxy"),
            ("squid_combined", "access", "proxy"), ("bluecoat", "access", "proxy")} <= names  # fmt: skip
    for m in all_mappings().values():
        assert [c for c in m.columns if c in TABLES[m.table].column_names] == TABLES[
            m.table
        ].column_names
    for name in ("flow", "dns", "proxy"):  # extension columns never shadow Spot's
        tbl = TABLES[name]
        assert not {c.name for c in tbl.extensions} & set(
            tbl.column_names + [p.name for p in tbl.partitions]
        )


def test_spot_lab_ingest_is_callable_from_python(tmp_path):
    import spot_lab

    report = spot_lab.ingest(ZEEK / "conn.log", tmp_path / "lake", progress=False)
    assert report.rows == {"flow": 360} and report.exit_status == 0
    assert "conn.log: 360 rows" in str(report)


def test_many_small_blocks_give_the_rows_of_one_block(tmp_path, monkeypatch):
    """Chunk after chunk reuses what earlier chunks computed (the distinct conversions'
    values): a log read in 4 kB blocks lands exactly as read in one block."""
    from spot_lab.ingest import readers
    from tests.ingest_support import conn_header

    histories = ["ShADadFf", "S", "Sr", "ShADadR", "D", "Dd", "ShAFf", "-", "^hADadfF", "ShR"]
    protos = ["tcp", "udp", "icmp"]
    lines = []
    for i in range(600):
        proto = protos[i % 3]
        lines.append("\t".join([f"{1795856400 + i}.000000", f"C{i:012d}", "10.0.0.1", str(1000 + i),
                                "10.0.0.2", "443", proto, "-", "1.0", "1", "2", "SF", "-", "0",
                                histories[(i // 3) % len(histories)], "1", "40", "1", "40", "(empty)"]))  # fmt: skip
    log = tmp_path / "conn.log"
    log.write_text(conn_header() + "\n".join(lines) + "\n")
    ingest(log, tmp_path / "one", progress=False)
    monkeypatch.setattr(readers, "BLOCK_BYTES", 4096)
    ingest(log, tmp_path / "many", progress=False)
    query = "SELECT * EXCLUDE (extra) FROM flow ORDER BY uid"
    one, many = table(tmp_path / "one", query), table(tmp_path / "many", query)
    assert one.num_rows == 600 and one.equals(many)
    assert len(set(one["flag"].to_pylist())) > 5  # the conversions differed by row
