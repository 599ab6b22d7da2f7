"""`spot-lab demo --logs DIR`: the demo on the user's own data. Zeek logs are written from
the generated demo day (so the model has a realistic day to score), ingested, scored, and
the demo notebook runs on them."""

from __future__ import annotations

import pytest

from spot_lab.cli import main
from spot_lab.store.lake import Lake
from tests.conftest import DEMO_DAY
from tests.ingest_support import conn_header, table

pytestmark = pytest.mark.slow

_DNS = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto trans_id query qclass qclass_name "
        "qtype qtype_name rcode rcode_name AA TC RD RA Z answers TTLs rejected")  # fmt: skip
_DNS_T = ("time string addr port addr port enum count string count string count string count "
          "string bool bool bool bool count vector[string] vector[interval] bool")  # fmt: skip
_HTTP = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p trans_depth method host uri referrer "
         "user_agent request_body_len response_body_len status_code resp_mime_types")  # fmt: skip
_HTTP_T = "time string addr port addr port count string string string string string count count count vector[string]"


def _zeek_logs(demo_lake, folder):
    """conn, dns and http logs (Zeek TSV) carrying the demo day's flow, dns and proxy rows."""
    con = Lake(demo_lake).connect()
    conn = con.sql("""SELECT concat_ws(chr(9), printf('%.6f', CAST(unix_tstamp AS DOUBLE)), 'C' || row_number() OVER (),
        sip, sport, dip, dport, lower(proto), '-', printf('%.6f', tdur), '-', '-', 'SF', '-', '0',
        CASE WHEN proto = 'TCP' THEN 'ShADadFf' ELSE 'Dd' END, ipkt, ibyt, opkt, obyt, '(empty)') AS line
        FROM flow WHERE proto IN ('TCP', 'UDP')""")["line"].to_pylist()  # fmt: skip
    dns = con.sql("""SELECT concat_ws(chr(9), printf('%.6f', CAST(unix_tstamp AS DOUBLE)), 'D' || row_number() OVER (),
        ip_dst, 40000 + row_number() OVER () % 20000, ip_src, 53, 'udp', row_number() OVER () % 65536,
        dns_qry_name, 1, 'C_INTERNET', dns_qry_type, '-', dns_qry_rcode, '-', 'F', 'F', 'T', 'T', 0,
        coalesce(replace(dns_a, '|', ','), '-'), '-', 'F') AS line FROM dns""")["line"].to_pylist()  # fmt: skip
    http = con.sql("""SELECT concat_ws(chr(9), epoch(CAST(p_date || ' ' || p_time AS TIMESTAMP)),
        'H' || row_number() OVER (), clientip, 50000, serverip, uriport, 1, reqmethod, host,
        uripath || CASE WHEN uriquery <> '-' THEN uriquery ELSE '' END, referer, useragent, csbytes,
        scbytes, respcode, resconttype) AS line FROM proxy WHERE reqmethod <> 'CONNECT'""")["line"].to_pylist()  # fmt: skip
    con.close()
    folder.mkdir()
    (folder / "conn.log").write_text(conn_header() + "\n".join(conn) + "\n")
    header = conn_header("dns", _DNS.split(" "), _DNS_T.split(" "))
    (folder / "dns.log").write_text(header + "\n".join(dns) + "\n")
    header = conn_header("http", _HTTP.split(" "), _HTTP_T.split(" "))
    (folder / "http.log").write_text(header + "\n".join(http) + "\n")
    return len(conn), len(dns), len(http)


def test_demo_on_your_own_logs_ingests_scores_and_runs_the_notebook(demo_lake_path, tmp_path):
    logs = tmp_path / "my-zeek-logs"
    counts = _zeek_logs(demo_lake_path, logs)
    lake, report = tmp_path / "my-lake", tmp_path / "demo.html"
    status = main(
        ["demo", "--logs", str(logs), "--lake", str(lake), "--execute", "--output", str(report)]
    )
    assert status == 0
    got = [
        table(lake, f"SELECT count(*) AS n FROM {t}")["n"][0].as_py()
        for t in ("flow", "dns", "proxy")
    ]
    assert got == list(counts)
    for name in ("flow_scores", "dns_scores", "proxy_scores"):  # the model ran on the ingested day
        assert Lake(lake).days(name) == [DEMO_DAY]
    html = report.read_text()
    assert "Traceback" not in html and "none (your logs)" in html
    assert "records ingested per minute" in html or "flow: " in html
