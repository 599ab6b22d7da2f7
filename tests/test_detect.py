"""Detectors on small hand-built days: each exercises the logic it claims, against a look-alike."""

from __future__ import annotations

import datetime as dt
import json
import random

import numpy as np
import pytest

from spot_lab.detect import names, threats_of
from spot_lab.detect.base import bucketed, thresholds
from spot_lab.detect.hosts import classify
from spot_lab.detect.run import choose, detect_day
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.enrich.netcontext import InternalRanges
from spot_lab.errors import InputError
from tests import lakes
from tests.lakes import DAY, START


def _run(lake, data_type, **kw):
    return detect_day(DuckDBEngine(lake), data_type, DAY, **kw)


def _row(result, entity):
    rows = [r for r in result.threats.to_pylist() if r["entity"] == entity]
    return rows[0] if rows else None


def _detectors(row) -> dict:
    return {d["detector"]: d for d in json.loads(row["detectors"])}


def _rita_stat_score(values, default_mad):
    """RITA v5 calculateStatisticalScore (Bowley skew + MAD), written independently, with the
    detector's linear-interpolation quartiles (queries/detect_beacon.yaml)."""
    x = np.sort(np.asarray(values, dtype=float))
    q1, q2, q3 = np.percentile(x, [25, 50, 75])
    skew = (q1 + q3 - 2 * q2) / (q3 - q1) if q3 - q1 >= 10 and q2 not in (q1, q3) else 0.0
    mad = np.median(np.abs(x - q2))
    mad_score = max(0.0, (q2 - mad) / q2) if q2 >= 1 else default_mad
    return round((1 - abs(skew) + mad_score) / 2, 3)


def test_beacon_with_jitter_outranks_human_browsing(tmp_path):
    rng = random.Random(5)
    beacon_ts = [START + 600 + 272 * i + rng.randint(-24, 24) for i in range(300)]
    rows = [lakes.flow(t, "10.1.1.5", "185.60.1.1", 443, rng.randint(600, 700)) for t in beacon_ts]
    for _ in range(12):  # a person browsing: bursts in office hours, any size
        burst = START + rng.randint(8 * 3600, 18 * 3600)
        rows += [lakes.flow(burst + rng.randint(0, 90), "10.1.1.6", "151.101.1.1", 443,
                            rng.randint(400, 2_000_000)) for _ in range(rng.randint(3, 15))]  # fmt: skip
    result = _run(lakes.write(tmp_path / "lake", flow=rows), "flow", detectors="beacon")
    beacon = _detectors(_row(result, "10.1.1.5 -> 185.60.1.1"))["beacon"]
    nums = beacon["numbers"]
    intervals = np.diff(np.unique(beacon_ts))
    assert nums["ts_score"] == pytest.approx(_rita_stat_score(intervals, 1.0), abs=1e-3)
    assert nums["hist_score"] > 0.9 and nums["dur_score"] == 1.0 and nums["conns"] == 300
    assert abs(nums["median_iv"] - 272) <= 3 and 5 <= nums["mad_iv"] <= 24
    assert beacon["score"] >= 0.6 and beacon["summary"].startswith("every 27")
    human = _row(result, "10.1.1.6 -> 151.101.1.1")
    assert human is None or human["severity"] < beacon["score"] - 0.2


def test_strobe_is_not_scored_as_a_beacon(tmp_path):
    rows = [lakes.flow(START + i, "10.1.1.7", "185.60.1.2", 80) for i in range(7200)]
    rows += [lakes.flow(START + 30 * i, "10.1.1.8", "185.60.1.3", 443) for i in range(240)]
    result = _run(lakes.write(tmp_path / "lake", flow=rows), "flow",
                  detectors="beacon,strobe")  # fmt: skip
    strobe = _detectors(_row(result, "10.1.1.7 -> 185.60.1.2"))
    assert set(strobe) == {"strobe"} and strobe["strobe"]["numbers"]["conns"] == 7200
    assert set(_detectors(_row(result, "10.1.1.8 -> 185.60.1.3"))) == {"beacon"}


def _labels(rng, n, lo, hi, alphabet="abcdefghijklmnopqrstuvwxyz234567"):
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi))) for _ in range(n)]


def test_tunnel_domain_is_one_threat_and_outranks_a_cdn(tmp_path):
    rng = random.Random(7)
    dns, flows = [], []
    for i, label in enumerate(_labels(rng, 120, 30, 50)):  # 120 queries, one tunnel
        qtype = 16 if i % 5 < 2 else 1  # TXT 40%
        rcode = 2 if i % 4 == 0 else 0
        dns.append(lakes.dns(START + 60 * i, "10.1.2.9", f"{label[:25]}.{label[25:]}.t.evil-sync.com",
                             qtype, rcode, "aGVsbG8gd29ybGQgaGVsbG8=" if qtype == 16 else ""))  # fmt: skip
    for i in range(300):  # a CDN: many short names, answered, and the clients connect
        client, ip = f"10.1.2.{20 + i % 40}", f"93.184.{i % 3}.{i % 200 + 1}"
        dns.append(
            lakes.dns(START + 120 * i, client, f"img{i % 150}.static.cdnexample.net", 1, 0, ip)
        )
        flows.append(lakes.flow(START + 120 * i + 1, client, ip, 443))
    lake = lakes.write(tmp_path / "lake", dns=dns, flow=flows)
    result = _run(lake, "dns", detectors="dns_tunnel")
    tunnel_rows = [r for r in result.threats.to_pylist() if "evil-sync" in r["entity"]]
    assert [r["entity"] for r in tunnel_rows] == ["evil-sync.com"]  # 120 queries, one threat
    tunnel = tunnel_rows[0]
    nums = _detectors(tunnel)["dns_tunnel"]["numbers"]
    assert nums["queries"] == 120 and nums["txt_share"] == pytest.approx(0.4)
    assert nums["servfail"] == 30 and nums["payload_share"] > 0.9 and nums["b64_answers"] == 48
    assert json.loads(tunnel["modifiers"])["no_direct_connection"] > 0
    assert tunnel["category"] == "high" and "10.1.2.9" in tunnel["ips"].split()
    cdn = _row(result, "cdnexample.net")
    assert cdn is None or cdn["severity"] < 0.5 < tunnel["severity"]


def test_dga_client_found_reverse_lookup_resolver_not(tmp_path):
    rng = random.Random(9)
    rows = [lakes.dns(START + 30 * i, "10.1.3.4", f"{label}.com", 1, 3)
            for i, label in enumerate(_labels(rng, 40, 10, 16, "abcdefghijklmnopqrstuvwxyz"))]  # fmt: skip
    for i in range(500):  # a resolver's own reverse lookups, mostly NXDOMAIN, and some typos
        octets = ".".join(str(rng.randint(1, 254)) for _ in range(4))
        rows.append(lakes.dns(START + 10 * i, "10.1.3.53", f"{octets}.in-addr.arpa", 12, 3))
    for i, typo in enumerate(["gogle.com", "facebok.com", "wikipedai.org", "amazn.com"]):
        rows.append(lakes.dns(START + 7 * i, "10.1.3.53", typo, 1, 3))
    result = _run(lakes.write(tmp_path / "lake", dns=rows), "dns", detectors="dga")
    dga = _detectors(_row(result, "10.1.3.4"))["dga"]
    assert dga["numbers"]["nx_domains"] == 40 and dga["numbers"]["random_domains"] >= 36
    assert "reverse lookups excluded" in dga["summary"]
    assert _row(result, "10.1.3.53") is None


def test_wordlist_dga_found_by_its_failed_share_busy_client_not(tmp_path):
    """Word-like NXDOMAINs: a busy client's many failures at the usual rate stay out, a host
    whose own lookups mostly fail (a word-list DGA, fewer names than the busy client) is in."""
    rng, rows = random.Random(13), []
    popular = [x for x in names._labels() if len(x) > 3]  # word-like, not random

    def client(ip, asked, failed):
        for i, label in enumerate(rng.sample(popular, asked)):
            rows.append(lakes.dns(START + rng.randint(0, 86_000), ip, f"{label}.com", 1,
                                  3 if i < failed else 0))  # fmt: skip

    for k in range(30):  # ordinary workstations: one to three failed names of 30-60
        client(f"10.1.8.{k + 10}", rng.randint(30, 60), rng.randint(1, 3))
    client("10.1.8.200", 500, 30)  # a busy client: 30 failures, 6% of what it asks
    client("10.1.8.201", 40, 1)
    words = ["silver", "letter", "garden", "orange", "window", "yellow", "market", "castle"]
    wordlist = [f"{a}{b}.net" for a in words for b in words if a != b][:24]
    rows += [
        lakes.dns(START + 7200 + i, "10.1.8.201", name, 1, 3) for i, name in enumerate(wordlist)
    ]
    result = _run(lakes.write(tmp_path / "lake", dns=rows), "dns", detectors="dga")
    dga = _detectors(_row(result, "10.1.8.201"))["dga"]
    assert dga["numbers"]["nx_domains"] == 25 and dga["numbers"]["random_domains"] < 10
    assert dga["numbers"]["z_nx"] >= thresholds()["dga"]["wordlike_min_z"]
    assert dga["score"] > 0 and "39% of the 64 it asked" in dga["summary"]
    assert _row(result, "10.1.8.200") is None


def test_sweep_with_syn_only_flags_normal_browsing_not(tmp_path):
    rows = [lakes.flow(START + i, "10.1.4.4", f"10.1.5.{i + 1}", 445, 60, flag="....S.", ipkt=1,
                       obyt=0, opkt=0) for i in range(60)]  # fmt: skip
    rows += [lakes.flow(START + 5 * i, "10.1.4.5", f"151.101.{i}.1", 443) for i in range(60)]
    result = _run(lakes.write(tmp_path / "lake", flow=rows), "flow", detectors="scan")
    scan = _detectors(_row(result, "10.1.4.4"))["scan"]
    assert scan["numbers"]["hosts"] == 60 and scan["numbers"]["host_share"] == 1.0
    assert scan["summary"].startswith("host sweep") and _row(result, "10.1.4.5") is None


def test_brute_force_short_failed_logins_not_long_sessions(tmp_path):
    rows = [lakes.flow(START + 3600 + 8 * i, "10.1.6.6", "10.1.7.7", 22, 3000, tdur=2.0)
            for i in range(60)]  # 60 attempts in 8 minutes  # fmt: skip
    rows += [lakes.flow(START + 7200 + 3600 * i, "10.1.6.8", "10.1.7.7", 22, 2_000_000, tdur=1800)
             for i in range(3)]  # fmt: skip
    result = _run(lakes.write(tmp_path / "lake", flow=rows), "flow", detectors="brute_force")
    brute = _detectors(_row(result, "10.1.6.6"))["brute_force"]
    assert brute["numbers"]["peak"] == 60
    assert brute["score"] == pytest.approx(
        bucketed(60, thresholds()["brute_force"]["attempt_thresholds"])
    )
    assert _row(result, "10.1.6.8") is None


def test_lateral_pair_new_today_flagged_known_pair_not(tmp_path):
    before = DAY - dt.timedelta(days=1)
    old = lakes.flow(START - 86400 + 3600, "192.168.56.1", "192.168.56.100", 3389, 90_000)
    lakes.write(tmp_path / "lake", day=before, flow=[old])
    rows = [lakes.flow(START + 3600, "192.168.56.1", "192.168.56.100", 3389, 90_000),
            lakes.flow(START + 7200, "192.168.56.1", "192.168.56.101", 3389, 250_000, tdur=900)]  # fmt: skip
    result = _run(lakes.write(tmp_path / "lake", flow=rows), "flow", detectors="lateral")
    new = _detectors(_row(result, "192.168.56.1 -> 192.168.56.101"))["lateral"]
    assert "192.168.56.1 -> 192.168.56.101:3389 first seen today" in new["summary"]
    assert _row(result, "192.168.56.1 -> 192.168.56.100") is None


def test_exfiltration_outlier_among_peers(tmp_path):
    rng = random.Random(3)
    rows = [lakes.flow(START + 60 * i, f"10.1.8.{i % 200 + 1}", f"151.101.{i % 50}.{i % 7 + 1}",
                       443, rng.randint(20_000, 900_000)) for i in range(2000)]  # fmt: skip
    rows += [lakes.flow(START + 9000 + i, "10.1.8.250", "203.0.114.9", 443, 9_000_000)
             for i in range(60)]  # 540 MB  # fmt: skip
    result = _run(lakes.write(tmp_path / "lake", flow=rows), "flow", detectors="exfiltration")
    exfil = _detectors(_row(result, "10.1.8.250 -> 203.0.114.9"))["exfiltration"]
    assert exfil["numbers"]["z_peers"] > 5 and exfil["numbers"]["out_bytes"] == 540_000_000
    assert len(result.threats) == 1


def test_multicast_and_broadcast_are_never_internal_hosts():
    table = classify(["10.0.0.5", "fd00::5", "224.0.0.251", "239.255.255.250", "255.255.255.255",
                      "10.0.0.255", "ff02::fb", "0.0.0.0", "8.8.8.8", "2a00:1450::1"],
                     InternalRanges())  # fmt: skip
    kinds = dict(zip(table["ip"].to_pylist(), table["kind"].to_pylist(), strict=True))
    assert kinds == {"10.0.0.5": "internal", "fd00::5": "internal", "224.0.0.251": "special",
                     "239.255.255.250": "special", "255.255.255.255": "special",
                     "10.0.0.255": "special", "ff02::fb": "special", "0.0.0.0": "special"}  # fmt: skip


def test_ipv6_beacon_and_no_multicast_beacon(tmp_path):
    rows = [lakes.flow(START + 600 * i, "fd00::5", "2a00:1450::1", 443, 700) for i in range(140)]
    rows += [lakes.flow(START + 300 * i, "10.1.9.9", "239.255.255.250", 1900, 400, proto="UDP")
             for i in range(280)]  # SSDP every 5 minutes: multicast, never a beacon  # fmt: skip
    result = _run(lakes.write(tmp_path / "lake", flow=rows), "flow", detectors="beacon")
    assert [r["entity"] for r in result.threats.to_pylist()] == ["fd00::5 -> 2a00:1450::1"]


def test_registered_domains_in_sql_match_the_public_suffix_list(tmp_path):
    sample = ["a.b.example.co.uk", "x.y.foo.kawasaki.jp", "www.city.kawasaki.jp", "d1.cloudfront.net",
              "deep.er.name.example.com", "com", "localhost", "b.c.xn--p1ai", "q.pvt.k12.ma.us"]  # fmt: skip
    import pyarrow as pa

    from spot_lab import queries
    from spot_lab.engines import worktables

    engine = DuckDBEngine(lakes.write(tmp_path / "lake"))
    worktables.push(engine, "_t_psl", names.suffix_table())
    worktables.push(engine, "_t_names", pa.table({"name": sample}))
    sql = queries.render("detect_dns", "registered_domains", names="_t_names", suffixes="_t_psl")
    table = engine.arrow(sql).to_pydict()
    got = dict(zip(table["name"], table["domain"], strict=True))
    want = {n: names.registered_domain(n) for n in sample}
    assert {n: (got[n] or n) for n in sample} == want
    assert want["d1.cloudfront.net"] == "cloudfront.net"  # the ICANN section only


def test_every_detector_runs_on_a_two_host_day(tmp_path):
    flows = [lakes.flow(START + 60 * i, "10.2.0.1", "10.2.0.2", 22) for i in range(5)]
    dns = [lakes.dns(START + 60 * i, "10.2.0.1", "intranet.example.org", 1, 0, "10.2.0.2")
           for i in range(5)]  # fmt: skip
    proxy = [lakes.proxy(START + 60 * i, "10.2.0.1", "intranet.example.org") for i in range(5)]
    lake = lakes.write(tmp_path / "lake", flow=flows, dns=dns, proxy=proxy)
    for data_type in ("flow", "dns", "proxy"):
        result = _run(lake, data_type)
        assert not [n for n in result.notes if "did not run" in n], result.notes
        assert set(result.timings) == set(choose(data_type, None))


def test_score_day_writes_threats_with_a_feasible_topic_count(tmp_path):
    from spot_lab.scoring import score_day

    rows = [lakes.flow(START + 272 * i, "10.3.0.1", "185.60.1.9", 443, 640) for i in range(300)]
    rows += [
        lakes.flow(START + 999 * i, "10.3.0.2", "151.101.3.3", 443, 50_000 + i) for i in range(40)
    ]
    lake = lakes.write(tmp_path / "lake", flow=rows)
    engine = DuckDBEngine(lake)
    result = score_day(engine, "flow", DAY, progress=False, details_tables=False)
    assert any("fitted 1 topic(s) instead" in n for n in result.notes)
    table = threats_of(engine, "flow", DAY)
    assert table.iloc[0]["entity"] == "10.3.0.1 -> 185.60.1.9" and table.iloc[0]["rank"] == 1
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    assert {"beacon", "lda"} <= set(_detectors(table.iloc[0].to_dict()))


def test_unknown_detector_is_a_clear_error():
    with pytest.raises(InputError, match="unknown flow detector.*bogus.*use a comma-separated"):
        choose("flow", "beacon,bogus")


def _lateral_lake(root):
    before = DAY - dt.timedelta(days=1)
    lakes.write(root, day=before, flow=[
        lakes.flow(START - 86400 + 3600 + 60 * i, "192.168.56.1", "192.168.56.100", 3389, 90_000)
        for i in range(3)])  # fmt: skip
    rows = [
        lakes.flow(START + 3600, "192.168.56.1", "192.168.56.100", 3389, 90_000),
        lakes.flow(START + 7200, "192.168.56.1", "192.168.56.101", 3389, 250_000, tdur=900),
    ]
    rows += [lakes.flow(START + 600 * i, f"192.168.56.{10 + i % 30}", "151.101.9.9", 443,
                        40_000 + 97 * i) for i in range(140)]  # fmt: skip
    return lakes.write(root, flow=rows)


def test_spot_threat_cites_the_detectors_numbers(tmp_path):
    from spot_lab.config import SpotLab
    from spot_lab.investigation.search import investigate
    from spot_lab.scoring import score_day

    engine = DuckDBEngine(_lateral_lake(tmp_path / "lake"))
    score_day(engine, "flow", DAY, progress=False, details_tables=False)
    report = investigate("192.168.56.101", data_type="flow", engine=engine,
                         settings=SpotLab(lake=str(tmp_path / "lake")), date_range=DAY)  # fmt: skip
    ev = report.evidence.set_index("item")
    lateral = ev.loc["lateral movement"]
    assert lateral["suspicious"] and lateral["value"] == pytest.approx(0.6)
    assert "internal admin-port pair 192.168.56.1 -> 192.168.56.101:3389 first seen today" in (
        lateral["detail"])  # fmt: skip
    assert "outbound/inbound byte ratio" not in set(ev[ev["suspicious"]].index)


def test_threats_api_lists_one_row_per_threat(tmp_path):
    from spot_lab.config import SpotLab
    from spot_lab.scoring import score_day
    from spot_lab.server.threats import threats_page

    rng = random.Random(2)
    rows = [lakes.dns(START + 60 * i, "10.1.2.9", f"{lab}.evil-sync.com", 16)
            for i, lab in enumerate(_labels(rng, 120, 30, 40))]  # fmt: skip
    rows += [lakes.dns(START + 97 * i, f"10.1.2.{20 + i % 30}", "www.example.org", 1, 0, "93.184.216.34")
             for i in range(300)]  # fmt: skip
    engine = DuckDBEngine(lakes.write(tmp_path / "lake", dns=rows))
    score_day(engine, "dns", DAY, progress=False, details_tables=False)
    settings = SpotLab(lake=str(tmp_path / "lake"))
    page = threats_page(engine, "dns", DAY, 1, 50, "", settings)
    assert page["source"] == "dns_threats" and page["rows"][0]["rank"] == 1
    top = page["rows"][0]
    assert (top["entity"], top["kind"], top["anchor"]) == (
        "evil-sync.com",
        "domain",
        "evil-sync.com",
    )
    assert "dns_tunnel" in top["detectors"] and top["peer"] == "10.1.2.9"
    assert [r["entity"] for r in page["rows"]].count("evil-sync.com") == 1
    found = threats_page(engine, "dns", DAY, 1, 50, "10.1.2.9", settings)
    assert found["matched"] >= 1 and all("10.1.2.9" in r["peer"] or "evil" in r["entity"]
                                         for r in found["rows"])  # fmt: skip
