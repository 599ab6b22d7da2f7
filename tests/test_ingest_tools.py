"""Spot's collectors with the real tools: a pcap built from generated demo rows becomes DNS
rows through tshark and flow rows through softflowd -> nfcapd -> nfdump; nfcapd files and
nfdump's CSV ingest alike; a real squid on loopback, with curl through it, writes the
access logs. Ingest must give back what was sent."""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from spot_lab.ingest import ingest
from spot_lab.store.lake import Lake
from tests.ingest_support import table
from tests.support import require

FLOWS, RESPONSES = 40, 30


def _tools(*names):
    for name in names:
        require(shutil.which(name) is not None, f"{name} (Debian package)")


@pytest.fixture(scope="module")
def capture(demo_lake_path, tmp_path_factory):
    """A pcap of demo flows (client packets only) and DNS responses, two hours ago (softflowd's
    NetFlow v5 clock is right for recent captures); with what each packet carried."""
    require(__import__("importlib").util.find_spec("scapy") is not None, "scapy")
    from scapy.all import DNS, DNSQR, DNSRR, IP, TCP, UDP, Ether, Raw, wrpcap

    con = Lake(demo_lake_path).connect()
    flows = con.sql("SELECT sip, dip, sport, dport, proto, least(ipkt, 4) AS ipkt FROM flow "
                    f"WHERE proto IN ('TCP', 'UDP') AND dport <> 53 AND sport > 1024 LIMIT {FLOWS}").to_pylist()  # fmt: skip
    answers = con.sql("SELECT ip_dst, ip_src, dns_qry_name, dns_qry_type, dns_qry_rcode, dns_a FROM dns "
                      f"WHERE dns_qry_type IN (1, 28, 12) LIMIT {RESPONSES}").to_pylist()  # fmt: skip
    con.close()
    t0 = float(int(time.time()) - 7200)
    packets, sent_flows, sent_dns = [], [], []
    for i, f in enumerate(flows):
        l4 = TCP(sport=f["sport"], dport=f["dport"], flags="PA") if f["proto"] == "TCP" else \
            UDP(sport=f["sport"], dport=f["dport"])  # fmt: skip
        sizes = []
        for k in range(f["ipkt"]):
            pkt = Ether() / IP(src=f["sip"], dst=f["dip"]) / l4 / Raw(b"x" * (100 + 37 * k + i))
            pkt.time = t0 + i * 2 + k * 0.01
            packets.append(pkt)
            sizes.append(len(pkt[IP]))
        sent_flows.append({**f, "ibyt": sum(sizes), "first": t0 + i * 2})
    for i, a in enumerate(answers):
        ips = [x for x in (a["dns_a"] or "").split("|") if x and a["dns_qry_type"] == 1]
        an = [DNSRR(rrname=a["dns_qry_name"], type="A", rdata=ip, ttl=300) for ip in ips]
        dns = DNS(id=i, qr=1, rd=1, ra=1, rcode=a["dns_qry_rcode"],
                  qd=DNSQR(qname=a["dns_qry_name"], qtype=a["dns_qry_type"]), an=an)  # fmt: skip
        pkt = Ether() / IP(src=a["ip_src"], dst=a["ip_dst"]) / UDP(sport=53, dport=20000 + i) / dns
        pkt.time = t0 + 0.5 + i * 2
        packets.append(pkt)
        sent_dns.append(
            {**a, "dns_a": "|".join(ips) or None, "frame_len": len(pkt), "sport": 20000 + i}
        )
    packets.sort(key=lambda p: p.time)
    path = tmp_path_factory.mktemp("pcap") / "capture.pcap"
    wrpcap(str(path), packets)
    return path, sent_flows, sent_dns


def test_a_pcap_gives_dns_rows_through_tshark_with_what_was_sent(capture, tmp_path):
    _tools("tshark")
    path, _flows, sent = capture
    lake = tmp_path / "lake"
    (result,) = ingest(path, lake, progress=False).files
    assert result.rejected == 0 and result.rows["dns"] == len(sent) == RESPONSES
    got = {
        r["trans_id"]: r
        for r in table(lake, "SELECT * FROM dns WHERE sensor = 'tshark'").to_pylist()
    }
    for i, s in enumerate(sent):
        row = got[i]  # the DNS id of the i-th response
        assert (row["ip_dst"], row["ip_src"], row["dns_qry_name"]) == (
            s["ip_dst"],
            s["ip_src"],
            s["dns_qry_name"],
        )
        assert (row["dns_qry_type"], row["dns_qry_rcode"], row["dns_qry_class"]) == (
            s["dns_qry_type"], s["dns_qry_rcode"], "0x00000001")  # fmt: skip
        assert row["dns_a"] == s["dns_a"] and row["frame_len"] == s["frame_len"]
        assert row["frame_time"].endswith(" UTC") and "," not in row["frame_time"]


def test_a_pcap_gives_flow_rows_through_softflowd_and_nfcapd(capture, tmp_path):
    _tools("tshark", "softflowd", "nfcapd", "nfdump")
    path, sent, responses = capture
    lake = tmp_path / "lake"
    (result,) = ingest(path, lake, progress=False).files
    assert result.rejected == 0
    assert result.rows["flow"] == len(sent) + len(responses)  # each DNS response is a UDP flow
    rows = table(lake, "SELECT * FROM flow WHERE sensor = 'softflowd'").to_pylist()
    got = {(r["sip"], r["sport"], r["dip"], r["dport"]): r for r in rows}
    for s in sent:
        row = got[(s["sip"], s["sport"], s["dip"], s["dport"])]
        assert (row["proto"], row["ipkt"], row["ibyt"]) == (s["proto"], s["ipkt"], s["ibyt"])
        assert abs(row["unix_tstamp"] - s["first"]) <= 2  # NetFlow v5 keeps times to the ms
        assert row["flag"] == (".AP..." if s["proto"] == "TCP" else "......")
    for r in responses:
        assert got[(r["ip_src"], 53, r["ip_dst"], r["sport"])]["ibyt"] == r["frame_len"] - 14


def test_an_old_pcap_keeps_its_own_times_and_its_ipv6_flows(tmp_path):
    """Real attack captures are mostly years old: softflowd's uptime clock (NetFlow v5) put a
    2013 capture's flows in 2026, and v5 dropped IPv6 flows."""
    _tools("softflowd", "nfcapd", "nfdump")
    require(__import__("importlib").util.find_spec("scapy") is not None, "scapy")
    from scapy.all import IP, TCP, Ether, IPv6, Raw, wrpcap

    t0 = 1368000000.0  # 2013-05-08 08:00:00 UTC
    sent, packets = {}, []
    for i in range(6):
        for ip, dst, dport in ((IP, "198.51.100.7", 80), (IPv6, "2001:db8::7", 443)):
            src = "192.168.56.5" if ip is IP else "fd00::5"
            pkt = (
                Ether() / ip(src=src, dst=dst) / TCP(sport=40000 + i, dport=dport) / Raw(b"x" * 60)
            )
            pkt.time = t0 + i * 300 + (ip is IPv6)
            packets.append(pkt)
            sent[(src, 40000 + i)] = float(pkt.time)
    path = tmp_path / "old.pcap"
    wrpcap(str(path), packets)
    lake = tmp_path / "lake"
    (result,) = ingest(path, lake, progress=False).files
    assert result.rejected == 0 and result.rows["flow"] == len(sent)
    rows = table(lake, "SELECT sip, sport, unix_tstamp, treceived, y, m, d FROM flow").to_pylist()
    got = {(r["sip"], r["sport"]): r for r in rows}
    assert set(got) == set(sent)  # both address families
    for key, at in sent.items():
        assert abs(got[key]["unix_tstamp"] - at) <= 1
        assert (got[key]["y"], got[key]["m"], got[key]["d"]) == (2013, 5, 8)


def test_a_pcaps_txt_answers_reach_dns_a_as_zeeks_do(tmp_path):
    """A DNS C2's payload rides in TXT answers: tshark's rows carry them, as Zeek's do."""
    _tools("tshark")
    require(__import__("importlib").util.find_spec("scapy") is not None, "scapy")
    from scapy.all import DNS, DNSQR, DNSRR, IP, UDP, Ether, wrpcap

    payload = "dGFza2luZzogd2hvYW1pOyBpcGNvbmZpZyAvYWxs"
    dns = DNS(id=7, qr=1, rd=1, ra=1, qd=DNSQR(qname="a1b2c3.tunnel.example", qtype="TXT"),
              an=DNSRR(rrname="a1b2c3.tunnel.example", type="TXT", rdata=payload, ttl=0))  # fmt: skip
    pkt = Ether() / IP(src="198.51.100.53", dst="192.168.56.5") / UDP(sport=53, dport=5353) / dns
    pkt.time = 1368000000.0
    wrpcap(str(tmp_path / "txt.pcap"), [pkt])
    ingest(tmp_path / "txt.pcap", tmp_path / "lake", progress=False)
    (row,) = table(tmp_path / "lake", "SELECT dns_qry_type, dns_a FROM dns").to_pylist()
    assert row == {"dns_qry_type": 16, "dns_a": payload}


def test_a_gzipped_pcap_gives_the_flows_and_dns_rows_of_the_plain_one(capture, tmp_path):
    """Captures travel compressed; softflowd reads plain files only (a .pcap.gz gave DNS rows,
    no flows, and nfdump's "No matching flows" as a reject)."""
    _tools("tshark", "softflowd", "nfcapd", "nfdump")
    path, _flows, _dns = capture
    packed = tmp_path / "capture.pcap.gz"
    packed.write_bytes(__import__("gzip").compress(path.read_bytes()))
    (plain,) = ingest(path, tmp_path / "plain", progress=False).files
    (result,) = ingest(packed, tmp_path / "packed", progress=False).files
    assert result.rejected == 0 and result.rows == plain.rows and plain.rows["flow"] > 0
    assert not list((tmp_path / "packed" / ".spot-lab" / "tmp").iterdir())  # the copy is gone


def test_a_pcap_without_ip_flows_rejects_nothing(tmp_path):
    _tools("tshark", "softflowd", "nfcapd", "nfdump")
    require(__import__("importlib").util.find_spec("scapy") is not None, "scapy")
    from scapy.all import ARP, Ether, wrpcap

    packets = [Ether() / ARP(psrc="192.168.56.1", pdst=f"192.168.56.{i}") for i in range(2, 9)]
    wrpcap(str(tmp_path / "arp.pcap"), packets)
    (result,) = ingest(tmp_path / "arp.pcap", tmp_path / "lake", progress=False).files
    assert result.rejected == 0


def test_nfcapd_files_and_nfdump_csv_ingest_the_same_flows(capture, tmp_path):
    _tools("softflowd", "nfcapd", "nfdump")
    from spot_lab.ingest.tools import softflowd_nfcapd

    path, sent, responses = capture
    keep = tmp_path / "nfcapd"
    keep.mkdir()
    with softflowd_nfcapd(path) as (files, _):
        for f in files:
            shutil.copy(f, keep / f.name)
    csv = tmp_path / "flows.csv"
    with open(csv, "wb") as out:  # Spot's collector format, summary trailer included
        for f in sorted(keep.iterdir()):
            subprocess.run(["nfdump", "-r", str(f), "-o", "csv"], stdout=out, check=True,
                           env=dict(os.environ, TZ="UTC"))  # fmt: skip
    lake_a, lake_b = tmp_path / "a", tmp_path / "b"
    report_a = ingest(keep, lake_a, progress=False)
    report_b = ingest(csv, lake_b, progress=False)
    assert report_a.rows == report_b.rows == {"flow": len(sent) + len(responses)}
    assert report_a.rejected == report_b.rejected == 0
    cols = "sip, sport, dip, dport, proto, ipkt, ibyt, treceived, flag, rip, sensor"
    a = table(lake_a, f"SELECT {cols} FROM flow ORDER BY ALL")
    b = table(lake_b, f"SELECT {cols} FROM flow ORDER BY ALL")
    assert a.equals(b) and set(a["sensor"].to_pylist()) == {"nfdump"}
    assert set(a["rip"].to_pylist()) == {"127.0.0.1"}  # the exporter, as nfcapd saw it


class _Origin(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        code = 404 if "missing" in self.path else 200
        body = b"<html>" + self.path.encode() * 20 + b"</html>"
        self.send_response(code)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _squid(work):
    conf = work / "squid.conf"
    port = _port()
    conf.write_text(f"""http_port 127.0.0.1:{port}
pid_filename {work}/squid.pid
cache_log {work}/cache.log
access_log stdio:{work}/logs/access.log squid
access_log stdio:{work}/logs/combined.log combined
strip_query_terms off
cache deny all
cache_mem 8 MB
http_access allow localhost
http_access deny all
shutdown_lifetime 0 seconds
coredump_dir {work}
""")
    os.chmod(work, 0o777)  # squid drops root for its own user
    (work / "logs").mkdir(mode=0o777)
    os.chmod(work / "logs", 0o777)
    proc = subprocess.Popen(
        ["squid", "-N", "-f", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=1),
            ):
                break
            assert proc.poll() is None, f"squid stopped: {(work / 'cache.log').read_text()[-2000:]}"
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture()
def squid_dir():
    """A folder squid's own user can reach (pytest's tmp folders are private to root)."""
    import tempfile

    work = tempfile.mkdtemp(prefix="spot-lab-squid-")
    try:
        yield __import__("pathlib").Path(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_a_real_squid_access_log_gives_the_requests_curl_made(tmp_path, squid_dir):
    _tools("squid", "curl")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = server.server_address[1]
    asked = [("GET", f"/docs/report.pdf?id={i}&lang=en", 200) for i in range(5)]
    asked += [("GET", "/missing/page.html", 404), ("POST", "/api/upload?batch=7", 200)]
    try:
        with _squid(squid_dir) as port:
            for method, target, _ in asked:
                subprocess.run(["curl", "-s", "-o", "/dev/null", "-x", f"http://127.0.0.1:{port}",
                                "-X", method, "-A", "spot-lab-test/1.0", "-e", "http://ref.example/",
                                f"http://127.0.0.1:{origin}{target}"], check=True, timeout=30)  # fmt: skip
    finally:
        server.shutdown()
    lake = tmp_path / "lake"
    report = ingest(squid_dir / "logs", lake, progress=False)
    # the readiness probe (a connection without a request) is in both logs too, status 0
    assert report.rejected == 0 and report.rows == {"proxy": 2 * len(asked) + 2}
    for sensor_file, has_agent in (("access.log", False), ("combined.log", True)):
        rows = table(lake, "SELECT * FROM proxy WHERE respcode NOT IN ('0', '000') AND useragent "
                     + ("<>" if has_agent else "=") + " '-'").to_pylist()  # fmt: skip
        assert len(rows) == len(asked), sensor_file
        got = sorted((r["reqmethod"], r["uripath"] + (r["uriquery"] if r["uriquery"] != "-" else ""),
                      int(r["respcode"])) for r in rows)  # fmt: skip
        assert got == sorted(asked)
        for r in rows:
            assert (r["clientip"], r["host"], r["uriport"], r["action"]) == (
                "127.0.0.1",
                "127.0.0.1",
                str(origin),
                "TCP_MISS",
            )
            assert r["fulluri"] == "127.0.0.1" + r["uripath"] + (
                r["uriquery"] if len(r["uriquery"]) > 1 else ""
            )
            assert r["scbytes"] > 0
            if has_agent:
                assert (r["useragent"], r["referer"]) == (
                    "spot-lab-test/1.0",
                    "http://ref.example/",
                )
            else:
                assert r["serverip"] == "127.0.0.1" and r["resconttype"] == "text/html"
