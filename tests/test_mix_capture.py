"""bench/mix_capture.py, the measure of issue 13's real-capture target, end to end: a capture
from years ago (a pcap through the real tshark, softflowd, nfcapd and nfdump, and a squid
access log) is moved onto a generated lake's days, scored, and its attackers ranked.

The capture is built here with scapy in the shapes the issue's real captures had (an HTTP
beacon every 200-350 s for three days, a DNS TXT C2 client, RDP between two internal hosts, a
CONNECT beacon every 4-5 minutes through a proxy); a real capture runs the same command."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import require

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DAY0 = 1367798400.0  # 2013-05-06 00:00:00 UTC
ATTACKERS = ("flow=192.168.56.101", "flow=192.168.56.103", "dns=badcorp.net",
             "proxy=evilcdn-update.net")  # fmt: skip


def _session(src, dst, dport, sport, t, sizes):
    """A whole TCP connection: handshake, one request and answer, FIN both ways."""
    from scapy.all import IP, TCP, Ether, Raw

    steps = [("S", 0, b""), ("SA", 1, b""), ("A", 0, b""), ("PA", 0, b"G" * sizes[0]),
             ("PA", 1, b"R" * sizes[1]), ("FA", 0, b""), ("FA", 1, b""), ("A", 0, b"")]  # fmt: skip
    out = []
    for k, (flags, back, data) in enumerate(steps):
        a, b, sp, dp = (dst, src, dport, sport) if back else (src, dst, sport, dport)
        pkt = Ether() / IP(src=a, dst=b) / TCP(sport=sp, dport=dp, flags=flags)
        pkt = pkt / Raw(data) if data else pkt
        pkt.time = t + k * 0.02
        out.append(pkt)
    return out


def _dns_c2(rng, start, end):
    from scapy.all import DNS, DNSQR, DNSRR, IP, UDP, Ether

    out, t, i = [], start, 0
    while t < end:
        hexes = "".join(rng.choice("0123456789abcdef") for _ in range(rng.randint(30, 60)))
        name, port = f"{i:x}.{hexes}.c2.badcorp.net", 30000 + i % 20000
        answer = "".join(rng.choice("0123456789abcdef") for _ in range(rng.randint(16, 120)))
        query = Ether() / IP(src="192.168.56.102", dst="192.168.56.1") / UDP(sport=port, dport=53)
        query = query / DNS(id=i % 65536, rd=1, qd=DNSQR(qname=name, qtype="TXT"))
        reply = Ether() / IP(src="192.168.56.1", dst="192.168.56.102") / UDP(sport=53, dport=port)
        reply = reply / DNS(id=i % 65536, qr=1, rd=1, ra=1, qd=DNSQR(qname=name, qtype="TXT"),
                            an=DNSRR(rrname=name, type="TXT", rdata=answer, ttl=0))  # fmt: skip
        query.time, reply.time = t, t + 0.03
        out += [query, reply]
        i, t = i + 1, t + rng.uniform(1, 4)
    return out


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    require(__import__("importlib").util.find_spec("scapy") is not None, "scapy")
    for tool in ("tshark", "softflowd", "nfcapd", "nfdump"):
        require(shutil.which(tool) is not None, f"{tool} (Debian package)")
    from scapy.all import wrpcap

    rng, packets, t = random.Random(13), [], DAY0 + 3600
    while t < DAY0 + 3 * 86400 - 60:  # HTTP beacon, three days
        sport = 49152 + len(packets) // 8 % 16000
        sizes = (rng.randint(280, 320), rng.randint(400, 900))
        packets += _session("192.168.56.101", "185.117.74.10", 80, sport, t, sizes)
        t += rng.uniform(200, 350)
    last = DAY0 + 2 * 86400
    packets += _dns_c2(rng, last + 9 * 3600, last + 15 * 3600)
    for hour in (10.5, 13.2, 16.7):  # RDP sessions between two internal hosts
        packets += _session("192.168.56.103", "192.168.56.104", 3389, 50000 + int(hour * 10),
                            last + hour * 3600, (1200, 1400))  # fmt: skip
    folder = tmp_path_factory.mktemp("capture")
    wrpcap(str(folder / "capture.pcap"), sorted(packets, key=lambda p: p.time))
    lines, t = [], last + 600
    while t < last + 86400 - 300:  # a CONNECT beacon through squid, every 4-5 minutes
        lines.append(f"{t:.3f} {rng.randint(80, 400)} 192.168.56.105 TCP_TUNNEL/200 "
                     f"{rng.randint(3000, 6000)} CONNECT sync.evilcdn-update.net:443 - "
                     "HIER_DIRECT/185.117.74.20 -")  # fmt: skip
        t += rng.uniform(240, 300)
    (folder / "access.log").write_text("\n".join(lines) + "\n")
    return folder


def test_a_capture_mixed_into_a_generated_day_puts_its_attackers_in_the_top_20(capture):
    args = [sys.executable, str(ROOT / "bench" / "mix_capture.py"), str(capture / "capture.pcap"),
            str(capture / "access.log"), "--flows", "20k", "--history", "3", "--seed", "67",
            "--date", "2026-11-20"]  # fmt: skip
    for attacker in ATTACKERS:
        args += ["--attacker", attacker]
    done = subprocess.run(args, capture_output=True, text=True, timeout=1200, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "capture days 2013-05-06..2013-05-08 -> 2026-11-18..2026-11-20" in out
    last = out[out.index("\n2026-11-20 ") :]
    for attacker in ATTACKERS:
        kind, value = attacker.split("=")
        line = next(x for x in last.splitlines() if x.split()[:2] == [kind, value + ":"])
        assert "(in the top 20)" in line, line
    beacon_days = [x for x in out.splitlines() if x.split()[:2] == ["flow", "192.168.56.101:"]]
    assert len(beacon_days) == 3 and all("(in the top 20)" in x for x in beacon_days)


def _short_capture(path, start):
    """90 minutes of one infected Windows host, as sandboxes and malware-traffic exercises
    record them: HTTPS C2 every 300 s +- 30 %, Kerberos/LDAP/SMB/RPC to its DC, browsing with
    DNS through the DC."""
    from scapy.all import DNS, DNSQR, DNSRR, IP, UDP, Ether, wrpcap

    rng, victim, dc, packets, end = random.Random(8), "172.16.1.137", "172.16.1.4", [], start + 5400

    def lookup(name, answer, t):
        sport = 50000 + len(packets) % 15000
        query = Ether() / IP(src=victim, dst=dc) / UDP(sport=sport, dport=53)
        reply = Ether() / IP(src=dc, dst=victim) / UDP(sport=53, dport=sport)
        query = query / DNS(id=sport, rd=1, qd=DNSQR(qname=name))
        reply = reply / DNS(id=sport, qr=1, rd=1, ra=1, qd=DNSQR(qname=name),
                            an=DNSRR(rrname=name, type="A", rdata=answer, ttl=300))  # fmt: skip
        query.time, reply.time = t, t + 0.02
        return [query, reply]

    def tcp(dst, dport, t):
        sport = 49700 + len(packets) % 15000
        return _session(
            victim, dst, dport, sport, t, (rng.randint(200, 1400), rng.randint(100, 1400))
        )

    packets += lookup("update-check.fastcdn-sync.com", "45.155.205.99", start)
    t = start + 1
    while t < end:
        packets += tcp("45.155.205.99", 443, t)
        t += 300 * rng.uniform(0.7, 1.3)
    t = start
    while t < end:
        packets += [p for port in (88, 389, 445, 135) if rng.random() < 0.5
                    for p in tcp(dc, port, t + rng.uniform(0, 5))]  # fmt: skip
        t += rng.uniform(120, 600)
    sites = (("www.bing.com", "13.107.21.200"), ("www.msn.com", "204.79.197.203"),
             ("login.live.com", "20.190.159.2"), ("ctldl.windowsupdate.com", "93.184.221.240"))  # fmt: skip
    t = start
    while t < end:
        name, ip = rng.choice(sites)
        packets += lookup(name, ip, t)
        for _ in range(rng.randint(1, 4)):
            packets += tcp(ip, 443, t + rng.uniform(0.1, 3))
        t += rng.expovariate(1 / 90)
    wrpcap(str(path), sorted(packets, key=lambda p: p.time))


def test_a_90_minute_capture_of_one_infected_host_puts_its_c2_in_the_top_20(capture):
    """18 check-ins in a 90-minute capture, on a day of hosts seen for 24 hours: RITA's
    day-wide histogram made them a burst (2 of 24 hours busy) and they were not listed."""
    _short_capture(capture / "short.pcap", DAY0 + 14 * 3600)
    args = [sys.executable, str(ROOT / "bench" / "mix_capture.py"), str(capture / "short.pcap"),
            "--flows", "20k", "--history", "3", "--seed", "69", "--date", "2026-11-21",
            "--attacker", "flow=45.155.205.99"]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=1200, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "flow   45.155.205.99: rank" in done.stdout and "(in the top 20)" in done.stdout
