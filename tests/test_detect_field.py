"""What the field knows, on hand-built days: each test puts a benign look-alike next to the
attack it resembles and asserts the triage list tells them apart."""

from __future__ import annotations

import datetime as dt
import json
import random

from spot_lab.config import SpotLab
from spot_lab.detect.known import Allowlist, site_domain
from spot_lab.detect.run import detect_day
from spot_lab.engines.duckdb_engine import DuckDBEngine
from tests import lakes
from tests.lakes import DAY, START


def _run(lake, data_type, settings=None, **kw):
    settings = settings or SpotLab(lake=str(lake.root))
    return detect_day(DuckDBEngine(lake), data_type, DAY, settings=settings, **kw)


def _entities(result) -> list[str]:
    return [r["entity"] for r in result.threats.to_pylist()]


def _row(result, entity):
    rows = [r for r in result.threats.to_pylist() if r["entity"] == entity]
    return rows[0] if rows else None


def _beacon(src, dst, every, n, size=700, port=443, proto="TCP", start=600, seed=1):
    rng = random.Random(seed)
    return [lakes.flow(START + start + every * i + rng.randint(-5, 5), src, dst, port,
                       size + rng.randint(-20, 20), proto=proto) for i in range(n)]  # fmt: skip


def _fleet(rows, n=40):
    """Background: n workstations browsing (so that prevalence has a denominator)."""
    rng = random.Random(9)
    for i in range(n):
        for _ in range(6):
            rows.append(lakes.flow(START + rng.randint(0, 86000), f"10.5.0.{i + 10}",
                                   f"151.101.{rng.randint(0, 200)}.{rng.randint(1, 250)}", 443,
                                   rng.randint(500, 90_000)))  # fmt: skip
    return rows


def test_lateral_to_a_workstation_not_to_a_server_nor_failed_probes(tmp_path):
    before = DAY - dt.timedelta(days=1)
    lakes.write(tmp_path / "lake", day=before, flow=[lakes.flow(START - 80000, "10.6.0.9",
                                                                "10.6.1.1", 445)])  # fmt: skip
    rows = [lakes.flow(START + 3600, "10.6.0.5", "10.6.0.77", 3389, 400_000, tdur=900)]  # session
    rows += [lakes.flow(START + 3700, "10.6.0.5", "10.6.1.1", 445, 9_000)]  # to a file server
    rows += [lakes.flow(START + 60 * i, f"10.6.0.{20 + i}", "10.6.1.1", 445, 9_000)
             for i in range(12)]  # twelve clients use the file server  # fmt: skip
    rows += [lakes.flow(START + 4000 + i, "10.6.0.6", f"10.6.2.{i + 1}", 445, 60, flag="....S.",
                        ipkt=1, obyt=0, opkt=0) for i in range(30)]  # a sweep's failed SYNs  # fmt: skip
    result = _run(lakes.write(tmp_path / "lake", flow=rows), "flow", detectors="lateral")
    assert _entities(result) == ["10.6.0.5 -> 10.6.0.77"]
    numbers = json.loads(result.threats.to_pylist()[0]["detectors"])[0]["numbers"]
    assert numbers["clients"] == 1 and numbers["new_pair"] == 1


def test_ntp_polls_are_not_beacons_a_c2_on_port_123_is(tmp_path):
    rows = _beacon("10.7.0.10", "194.109.6.2", 1024, 84, size=76, port=123, proto="UDP")
    rows += _beacon("10.7.0.11", "185.77.3.50", 900, 90, size=4000, port=123, proto="UDP")
    result = _run(lakes.write(tmp_path / "lake", flow=rows), "flow", detectors="beacon,strobe")
    assert _entities(result) == ["10.7.0.11 -> 185.77.3.50"]


def test_dns_blocklist_and_av_lookups_are_not_tunnels(tmp_path):
    rng = random.Random(4)
    rows = []
    for i in range(300):  # a mail relay's DNSBL lookups: reversed IPs, mostly NXDOMAIN
        ip = ".".join(str(rng.randint(1, 254)) for _ in range(4))
        rows.append(lakes.dns(START + 60 * i, "10.8.0.25", f"{ip}.zen.spamhaus.org", 1, 3))
    for i in range(300):  # antivirus hash lookups: hex labels
        h = "".join(rng.choice("0123456789abcdef") for _ in range(40))
        rows.append(lakes.dns(START + 50 * i, f"10.8.1.{i % 40 + 1}", f"{h[:32]}.{h[32:]}.sophosxl.net",
                              1, 0, "127.0.0.1"))  # fmt: skip
    for i in range(300):  # a tunnel: the same shape under a domain nobody runs a service on
        h = "".join(rng.choice("0123456789abcdef") for _ in range(40))
        rows.append(
            lakes.dns(START + 40 * i, "10.8.0.66", f"{h[:32]}.{h[32:]}.cdn-sync-io.com", 16)
        )
    result = _run(lakes.write(tmp_path / "lake", dns=rows), "dns", detectors="dns_tunnel,dga")
    assert _entities(result) == ["cdn-sync-io.com"]


def test_the_sites_allowlist_keeps_a_known_party_out_across_days(tmp_path):
    rows = _beacon("10.9.0.5", "185.60.2.7", 300, 280)
    rows += _beacon("10.9.0.6", "185.77.3.9", 300, 280, seed=2)
    lake = lakes.write(tmp_path / "lake", flow=rows)
    plain = _run(lake, "flow", detectors="beacon")
    assert set(_entities(plain)) == {"10.9.0.5 -> 185.60.2.7", "10.9.0.6 -> 185.77.3.9"}
    allowed = SpotLab(lake=str(lake.root), allowlist="185.60.2.0/24, backup.example.com")
    assert _entities(_run(lake, "flow", allowed, detectors="beacon")) == ["10.9.0.6 -> 185.77.3.9"]
    known = Allowlist.parse("10.0.1.30; example.com")
    assert "10.0.1.30" in known and "a.b.example.com" in known and "example.co" not in known


def test_a_heartbeat_to_a_top_site_is_not_a_threat_the_c2_beacon_is(tmp_path):
    rows, dns = [], []
    for client in ("10.10.0.5", "10.10.0.6"):  # a chat app's heartbeat to its edge
        rows += _beacon(client, "52.0.9.9", 470, 180, seed=hash(client) % 100)
        dns += [lakes.dns(START + 3600 * h, client, "wss-primary.slack.com", 1, 0, "52.0.9.8|52.0.9.9")
                for h in range(24)]  # fmt: skip
    rows += _beacon("10.10.0.7", "185.77.3.77", 470, 180, seed=3)  # the C2, same cadence
    dns += [lakes.dns(START + 500, "10.10.0.7", "cdn.slack-status.net", 1, 0, "185.77.3.77")]
    lake = lakes.write(tmp_path / "lake", flow=_fleet(rows), dns=dns)
    (lake.root / "context").mkdir(exist_ok=True)
    (lake.root / "context" / "top-1m.csv").write_text("1,google.com\n2,slack.com\n")
    result = _run(lake, "flow", detectors="beacon,beacon_fqdn")
    assert set(_entities(result)) == {
        "10.10.0.7 -> 185.77.3.77",
        "10.10.0.7 -> cdn.slack-status.net",
    }
    days = [d["numbers"]["days"] for r in result.threats.to_pylist()
            for d in json.loads(r["detectors"])]  # fmt: skip
    assert days == [1, 1]  # one day's beacons, by IP and by name
    assert site_domain("x.cloudfront.net") == "x.cloudfront.net"  # a customer, not the CDN


def test_spots_model_alone_is_not_a_threat(tmp_path):
    from spot_lab.scoring import score_day

    rows = _beacon("10.11.0.1", "185.60.1.9", 272, 300)
    rows += [lakes.flow(START + 999 * i, "10.11.0.2", "151.101.3.3", 443, 50_000 + i)
             for i in range(40)]  # fmt: skip
    lake = lakes.write(tmp_path / "lake", flow=rows)
    result = score_day(DuckDBEngine(lake), "flow", DAY, progress=False, details_tables=False)
    detectors = [{d["detector"] for d in json.loads(r["detectors"])}
                 for r in result.threats.to_pylist()]  # fmt: skip
    assert detectors and all(d - {"lda"} for d in detectors)  # some detector beyond the model


def test_a_password_spray_is_one_threat_a_monitoring_poller_and_a_scan_are_none(tmp_path):
    rng = random.Random(6)
    rows, t = [], START + 7200
    for i in range(240):  # a guesser spreads ~2 attempts a minute over four servers
        t += rng.expovariate(1 / 30)
        rows.append(lakes.flow(int(t), "10.12.0.5", f"10.12.1.{i % 4 + 1}", 22, 3000, tdur=2.0))
    for target in range(20):  # the monitoring server checks 20 servers over SSH every minute
        rows += [lakes.flow(START + 60 * k + target, "10.12.0.30", f"10.12.2.{target + 1}", 22,
                            4000, tdur=0.4) for k in range(600)]  # fmt: skip
    rows += [lakes.flow(START + 9000 + i, "10.12.0.6", f"10.12.3.{i + 1}", 22, 60, flag="....S.",
                        ipkt=1, obyt=0, opkt=0) for i in range(200)]  # a sweep's SYNs on 22  # fmt: skip
    result = _run(lakes.write(tmp_path / "lake", flow=rows), "flow", detectors="brute_force")
    assert _entities(result) == ["10.12.0.5"]
    numbers = json.loads(result.threats.to_pylist()[0]["detectors"])[0]["numbers"]
    assert numbers["targets"] == 4 and numbers["attempts"] == 240 and numbers["source_peak"] >= 40
    assert (
        numbers["peak"] < 20
    )  # no one target sees fail2ban's low category: the spread is the attack


def test_a_nightly_backup_is_routine_a_new_large_transfer_is_exfiltration(tmp_path):
    def transfer(day_start, src, dst, at, parts, size):
        return [lakes.flow(day_start + at + 1800 * k, src, dst, 443, size, tdur=1800.0)
                for k in range(parts)]  # fmt: skip

    before, day_before = DAY - dt.timedelta(days=1), START - 86400
    rows = transfer(day_before, "10.13.0.20", "52.0.7.7", 3 * 3600, 4, 800_000_000)
    rows += _fleet([], n=30)
    lakes.write(tmp_path / "lake", day=before, flow=[{**r, "unix_tstamp": r["unix_tstamp"] - 86400}
                                                     for r in rows[4:]] + rows[:4])  # fmt: skip
    today = transfer(START, "10.13.0.20", "52.0.7.7", 3 * 3600 + 120, 3, 900_000_000)  # 03:02
    today += transfer(START, "10.13.0.8", "185.77.9.9", 14 * 3600, 2, 600_000_000)  # new, 14:00
    lake = lakes.write(tmp_path / "lake", flow=_fleet(today, n=30))
    result = _run(lake, "flow", detectors="exfiltration,long_connection")
    assert _entities(result) == ["10.13.0.8 -> 185.77.9.9"]
    assert any("scheduled transfer" in n for n in result.notes)


def test_a_phishing_click_from_webmail_not_a_newsletter_click(tmp_path):
    rows = []
    for i, client in enumerate(["10.14.0.5", "10.14.0.6", "10.14.0.7"]):
        at = START + 36000 + 600 * i
        mail = "https://outlook.office365.com/mail/inbox/id/AAQk1"
        rows += [lakes.proxy(at, client, "login-docs.info", path="/owa/auth/logon.aspx"),
                 lakes.proxy(at + 30, client, "login-docs.info", "POST", path="/owa/auth/verify.aspx")]  # fmt: skip
        rows[-2].update(referer=mail, webcat="Uncategorized")
        rows[-1].update(
            referer="https://login-docs.info/owa/auth/logon.aspx", webcat="Uncategorized"
        )
        rows.append(
            lakes.proxy(at + 40, client, "www.shop-news.com", path="/deals")
        )  # a newsletter
        rows[-1].update(referer=mail, webcat="Shopping")
    rows[1 + 0].update(uriextension="-")
    payload = lakes.proxy(START + 36100, "10.14.0.5", "login-docs.info", path="/files/INV-1.iso",
                          scbytes=2_400_000)  # fmt: skip
    payload.update(uriextension="iso", webcat="Uncategorized", referer="https://login-docs.info/")
    rows.append(payload)
    result = _run(lakes.write(tmp_path / "lake", proxy=rows), "proxy", detectors="phishing")
    assert _entities(result) == ["login-docs.info"]
    finding = json.loads(result.threats.to_pylist()[0]["detectors"])[0]
    assert finding["numbers"]["clicked"] == 3 and finding["numbers"]["indicators"] == 3
    assert "POST" in finding["summary"] and "iso" in finding["summary"]


def test_an_internal_scan_outranks_the_same_scan_from_the_internet(tmp_path):
    def scan(src):
        return [lakes.flow(START + 100 + i, src, f"10.15.1.{i % 5 + 1}", 1000 + i // 5, 60,
                           flag="....S.", ipkt=1, obyt=0, opkt=0) for i in range(150)]  # fmt: skip

    lake = lakes.write(tmp_path / "lake", flow=scan("10.15.0.9") + scan("185.77.5.5"))
    rows = {r["entity"]: r for r in _run(lake, "flow", detectors="scan").threats.to_pylist()}
    inside, outside = rows["10.15.0.9"], rows.get("185.77.5.5")
    assert json.loads(inside["modifiers"]) == {"internal_scan": 0.15}
    assert outside is None or outside["severity"] < inside["severity"] - 0.25


def test_top_ten_ports_on_three_hosts_is_a_scan_a_few_failures_to_a_used_server_are_not(tmp_path):
    ports = [80, 23, 443, 21, 22, 25, 3389, 110, 445, 139]  # nmap's top ten
    rows = [lakes.flow(START + 600 + i, "10.16.0.9", f"10.16.1.{i % 3 + 1}", ports[i // 3], 60,
                       flag="....S.", ipkt=1, obyt=0, opkt=0) for i in range(30)]  # fmt: skip
    for i in range(200):  # a busy client: its file server answers, now and then a reset
        flag = "...RS." if i % 20 == 0 else ".AP.SF"
        rows.append(lakes.flow(START + 300 * i, "10.16.0.10", "10.16.1.50", 445 if i % 2 else 389,
                               9_000, flag=flag, ipkt=1 if flag == "...RS." else 8))  # fmt: skip
    result = _run(lakes.write(tmp_path / "lake", flow=rows), "flow", detectors="scan")
    assert _entities(result) == ["10.16.0.9"]
    finding = json.loads(result.threats.to_pylist()[0]["detectors"])[0]
    assert finding["numbers"]["probes"] == 30 and finding["summary"].startswith("probes")


def test_ten_ports_of_one_host_after_a_busy_morning_is_a_scan_three_dead_services_are_not(tmp_path):
    rows = []
    for src in ("10.16.0.9", "10.16.0.10"):  # two workstations use 20 internal services first
        rows += [lakes.flow(START + 60 * i, src, f"10.16.1.{i + 1}", 445, 9_000, flag=".AP.SF",
                            ipkt=8) for i in range(20)]  # fmt: skip
    ports = [80, 23, 443, 21, 22, 25, 3389, 110, 445, 139]  # nmap's top ten on one host
    rows += [lakes.flow(START + 7200 + i, "10.16.0.9", "10.16.2.7", port, 60, flag="....S.",
                        ipkt=1, obyt=0, opkt=0) for i, port in enumerate(ports)]  # fmt: skip
    dead = [("10.16.2.8", 445), ("10.16.2.8", 139), ("10.16.2.9", 9100)]  # a stale drive, a printer
    rows += [lakes.flow(START + 7200 + i, "10.16.0.10", dip, port, 60, flag="....S.", ipkt=1,
                        obyt=0, opkt=0) for i, (dip, port) in enumerate(dead)]  # fmt: skip
    result = _run(lakes.write(tmp_path / "lake", flow=rows), "flow", detectors="scan")
    assert _entities(result) == ["10.16.0.9"]
    finding = json.loads(result.threats.to_pylist()[0]["detectors"])[0]
    # ten failures at ln 4 each, after the twenty answered pairs the walk forgets (CUSUM)
    assert finding["numbers"]["probes"] == 10 and abs(finding["numbers"]["evidence"] - 13.86) < 0.01
    assert finding["summary"].startswith("probes: 10 internal host:port pairs never reached")


def test_a_connect_scan_in_one_way_netflow_accuses_the_scanner_not_its_target(tmp_path):
    """NetFlow (Spot's own source) logs each direction as a record: the target's RST/ACK to a
    closed port is its record to the scanner's ephemeral port, which is no attempt."""
    rows = []
    for i in range(60):  # a connect scan: a new source port per probe, every port refused
        port, sport = 1000 + i, 40000 + i
        rows.append(lakes.flow(START + 600 + i, "10.17.0.9", "10.17.0.20", port, 44, sport=sport,
                               flag="....S.", ipkt=1, obyt=0, opkt=0))  # fmt: skip
        rows.append(lakes.flow(START + 600 + i, "10.17.0.20", "10.17.0.9", sport, 40, sport=port,
                               flag=".A.R..", ipkt=1, obyt=0, opkt=0))  # fmt: skip
    result = _run(lakes.write(tmp_path / "lake", flow=rows), "flow", detectors="scan")
    assert _entities(result) == ["10.17.0.9"]


def test_a_dmz_sites_answers_to_an_uptime_monitor_are_no_beacon_an_implants_check_ins_are(tmp_path):
    """One-way NetFlow: the web server's records to a monitor polling it every minute run from
    port 443 to the monitor's ephemeral ports (nfdump -B's server side), no outbound session."""
    rng = random.Random(4)
    rows = [lakes.flow(START + 60 * i, "10.18.0.5", "52.14.1.9", rng.randint(32768, 60999), 5200,
                       sport=443) for i in range(1400)]  # fmt: skip
    rows += _beacon("10.18.0.20", "185.117.74.10", 300, 250)
    result = _run(lakes.write(tmp_path / "lake", flow=_fleet(rows)), "flow", detectors="beacon")
    assert _entities(result) == ["10.18.0.20 -> 185.117.74.10"]


def test_an_implant_seen_17_times_is_a_beacon_though_its_skew_reads_high_by_chance(tmp_path):
    # a generated implant's day (sleep 52 min, 42% jitter added): 16 intervals whose Bowley
    # skew reads -0.53 by chance (RITA timing 0.72); check-ins of 950 bytes, a few of them
    # 30-50 bytes shorter (a profile's optional header): size skew -0.88 (RITA size 0.56)
    gaps = [4005, 3980, 3339, 4056, 3979, 3995, 3154, 3960, 3985, 4117, 3689, 4146, 3148, 3694,
            4156, 4120]  # fmt: skip
    sizes = [950, 905, 949, 953, 900, 950, 954, 915, 951, 948, 955, 910, 950, 956, 920, 949, 952]
    times = [START + 1800 + sum(gaps[:i]) for i in range(17)]
    rows = [
        lakes.flow(t, "10.15.0.5", "185.77.4.4", 443, b) for t, b in zip(times, sizes, strict=True)
    ]
    rng = random.Random(3)  # a person's 17 visits to a site: Poisson arrivals, pages vary
    t = START + 1800
    for _ in range(17):
        t += int(rng.expovariate(1 / 3700))
        rows.append(lakes.flow(t, "10.15.0.6", "185.77.4.5", 443, int(rng.lognormvariate(9, 1))))
    result = _run(lakes.write(tmp_path / "lake", flow=_fleet(rows)), "flow", detectors="beacon")
    assert _entities(result) == ["10.15.0.5 -> 185.77.4.4"]
    numbers = json.loads(_row(result, "10.15.0.5 -> 185.77.4.4")["detectors"])[0]["numbers"]
    assert numbers["ts_score"] < 0.85 and numbers["ds_score"] < 0.6  # RITA's, as RITA has them


def test_an_implants_tasked_check_ins_stay_one_beacon_a_fast_beacon_keeps_its_connections(tmp_path):
    rng = random.Random(4)
    rows = _beacon("10.15.0.5", "185.77.4.4", 1800, 40, size=900)  # a check-in every 30 min
    for r in rng.sample(rows, 15):  # the operator's tasks: output posted 2 s after the check-in
        rows.append(lakes.flow(r["unix_tstamp"] + 2, "10.15.0.5", "185.77.4.4", 443,
                               rng.randint(50_000, 5_000_000), tdur=20.0))  # fmt: skip
    t = START + 3600  # a 6 s loop for 7 h: every connection within 10 s of the last, unmerged
    rows += [lakes.flow(t + 6 * i + rng.randint(0, 1), "10.15.0.6", "185.77.4.5", 8443, 300)
             for i in range(4200)]  # fmt: skip
    result = _run(lakes.write(tmp_path / "lake", flow=_fleet(rows)), "flow", detectors="beacon")
    assert set(_entities(result)) == {"10.15.0.5 -> 185.77.4.4", "10.15.0.6 -> 185.77.4.5"}
    numbers = json.loads(_row(result, "10.15.0.5 -> 185.77.4.4")["detectors"])[0]["numbers"]
    assert numbers["conns"] == 55 and 1790 <= numbers["median_iv"] <= 1810
    assert numbers["ts_score"] >= 0.9


def transfer_at_the_hour_of_one_earlier_day(root):
    """Three nights of a chunked backup at 02:00 and of one host's 1.2 GB transfers, at a
    different hour each earlier day; today at the hour of three days ago (shared with Spark's
    test)."""

    def transfer(day_start, src, dst, at, size):
        return [lakes.flow(day_start + at + 1800 * k, src, dst, 443, size, tdur=1800.0)
                for k in range(3)]  # fmt: skip

    def morning(day_start):  # the user's own small request to the same service, 08:00 daily
        return [lakes.flow(day_start + 8 * 3600, "10.16.0.8", "185.77.8.8", 443, 40_000)]

    def backup(day_start, at):  # 200 chunks of 5 MB: no one flow is 1% of the night's bytes
        return [lakes.flow(day_start + at + 20 * k, "10.16.0.20", "52.0.8.8", 443, 5_000_000)
                for k in range(200)]  # fmt: skip

    for back, exfil_hour in ((3, 14), (2, 10), (1, 1)):
        start = START - 86400 * back
        rows = backup(start, 2 * 3600)  # nightly at 02:00
        rows += transfer(start, "10.16.0.8", "185.77.8.8", exfil_hour * 3600, 400_000_000)
        lakes.write(root, day=DAY - dt.timedelta(days=back), flow=rows + morning(start))
    today = backup(START, 2 * 3600 + 300)
    today += transfer(START, "10.16.0.8", "185.77.8.8", 14 * 3600, 400_000_000)  # as 3 days ago
    today += morning(START)
    return lakes.write(root, flow=_fleet(today, n=30))


def test_a_transfer_at_the_hour_of_one_earlier_day_in_three_is_not_a_schedule(tmp_path):
    result = _run(transfer_at_the_hour_of_one_earlier_day(tmp_path / "lake"), "flow",
                  detectors="exfiltration")  # fmt: skip
    assert _entities(result) == ["10.16.0.8 -> 185.77.8.8"]
    assert any("scheduled transfer" in n for n in result.notes)  # the backup


def test_a_low_and_slow_guesser_adds_up_over_the_day_an_admins_logins_do_not(tmp_path):
    rng = random.Random(8)
    rows, t = [], START + 3600
    for i in range(190):  # half an attempt a minute over four RDP servers: under both windows
        t += rng.expovariate(0.5 / 60)
        rows.append(lakes.flow(int(t), "10.17.0.5", f"10.17.1.{i % 4 + 1}", 3389, 9000, tdur=3.0))
    for k in range(40):  # an administrator's short SSH sessions through the day
        rows.append(lakes.flow(START + 2000 * k, "10.17.0.9", f"10.17.2.{k % 8 + 1}", 22, 5000))
    for k in range(240):  # automation: two short SSH sessions to each of 120 servers
        rows.append(lakes.flow(START + 300 * k, "10.17.0.10", f"10.17.3.{k % 120 + 1}", 22, 5000))
    result = _run(lakes.write(tmp_path / "lake", flow=rows), "flow", detectors="brute_force")
    assert _entities(result) == ["10.17.0.5"]
    numbers = json.loads(result.threats.to_pylist()[0]["detectors"])[0]["numbers"]
    assert numbers["repeated"] == 190 and numbers["source_peak"] < 30 and numbers["peak"] < 5


def test_a_beacon_with_varied_requests_keeps_its_sleep_a_favourite_site_does_not(tmp_path):
    rng, rows = random.Random(5), []
    for client, host, next_gap in (
        ("10.18.0.5", "sync.cdn-assets.org", lambda: 300 * rng.uniform(0.8, 1.2)),  # implant
        ("10.18.0.6", "news.example.org", lambda: rng.expovariate(1 / 300)),  # on demand
    ):
        t = START + 600
        while t < START + 80000:  # requests of 0.2-5 kB (tasks' output, cookies, forms)
            rows.append(lakes.proxy(int(t), client, host, csbytes=int(rng.lognormvariate(7, 1)),
                                    scbytes=rng.randint(5000, 60000)))  # fmt: skip
            t += next_gap()
    result = _run(lakes.write(tmp_path / "lake", proxy=rows), "proxy", detectors="proxy_beacon")
    assert _entities(result) == ["sync.cdn-assets.org"]
    numbers = json.loads(result.threats.to_pylist()[0]["detectors"])[0]["numbers"]
    assert numbers["ts_score"] >= 0.85 and numbers["ds_score"] < 0.65  # in time, not in size


def test_a_laptop_seen_two_hours_beaconing_throughout_is_a_beacon_a_servers_burst_is_not(tmp_path):
    """RITA bins the whole day, as if every host were seen all of it: a laptop on the network
    (or in a sensor's capture) for two hours whose implant checks in every minute would score
    as a two-hour burst. Each source's own span is binned; a host seen all day, on either
    side of its flows, keeps RITA's."""
    rng = random.Random(6)
    rows = _beacon("10.19.0.7", "185.117.74.30", 60, 120, start=36000)  # 10:00-12:00
    rows += _beacon("10.19.0.8", "185.117.74.31", 60, 120, start=36000)  # a page polling
    rows += _beacon("10.19.0.9", "52.0.8.9", 60, 120, start=7200)  # a backup's records
    rows += [lakes.flow(START + rng.randint(0, 86000), f"10.5.0.{rng.randint(10, 49)}",
                        "10.19.0.9", 445, rng.randint(500, 90_000)) for _ in range(60)]  # fmt: skip
    for src, first, last in (("10.19.0.7", 36000, 43200), ("10.19.0.8", 0, 86000)):
        for _ in range(30):  # each host's browsing while it is on the network
            rows.append(lakes.flow(START + rng.randint(first, last), src,
                                   f"151.101.{rng.randint(0, 200)}.{rng.randint(1, 250)}", 443,
                                   rng.randint(500, 90_000)))  # fmt: skip
    result = _run(lakes.write(tmp_path / "lake", flow=_fleet(rows)), "flow", detectors="beacon")
    assert _entities(result) == ["10.19.0.7 -> 185.117.74.30"]
    numbers = json.loads(_row(result, "10.19.0.7 -> 185.117.74.30")["detectors"])[0]["numbers"]
    assert numbers["dur_score"] >= 0.9 and numbers["hist_score"] >= 0.9


def _implant_at_49_percent(client):
    """Seed 52's proxy beacon on 2026-11-26 (sleep 756 s, 49% either side, 40 requests in
    8 h): sample MAD 0.30 of the median (the jitter's own is 0.245), sizes varying by a third."""
    gaps = [473, 517, 939, 1118, 472, 1053, 870, 739, 829, 969, 428, 404, 513, 716, 433, 727,
            1045, 750, 1050, 912, 608, 832, 1011, 575, 450, 525, 765, 592, 855, 520, 460, 745,
            820, 1006, 445, 1027, 542, 988, 807]  # fmt: skip
    sizes = [765, 317, 714, 743, 832, 380, 433, 535, 416, 351, 883, 739, 370, 862, 439, 374, 435,
             463, 644, 505, 474, 726, 498, 884, 520, 425, 340, 451, 897, 328, 454, 728, 664, 880,
             582, 386, 822, 733, 356, 699]  # fmt: skip
    return [lakes.proxy(START + 22123 + sum(gaps[:i]), client, "sync.urbanfood.net", csbytes=b)
            for i, b in enumerate(sizes)]  # fmt: skip


def test_a_40_request_implant_at_49_percent_jitter_is_a_beacon_chance_regular_visits_are_not(
    tmp_path,
):
    """Timing alone, tested against chance both ways: the implant's timing could be a sleep at
    up to 75% jitter, and a person's visits (at best Poisson arrivals) would be this tight at
    most once in a thousand."""
    rows = _implant_at_49_percent("10.18.0.5")
    # a person's 13 visits whose 12 intervals are tight by chance (MAD 0.26 of the median)
    rng, t = random.Random(6), START + 30000
    for gap in [0, 3013, 2687, 1771, 4025, 4999, 2710, 2020, 977, 1963, 996, 5635, 1909]:
        t += gap
        rows.append(
            lakes.proxy(t, "10.18.0.6", "news.example.org", csbytes=int(rng.lognormvariate(6.5, 1)))
        )
    t = START + 20000  # and another's 40 visits at random; pages vary in size
    for _ in range(40):
        t += int(rng.expovariate(1 / 750))
        rows.append(
            lakes.proxy(
                t, "10.18.0.7", "forum.example.net", csbytes=int(rng.lognormvariate(6.5, 1))
            )
        )
    result = _run(lakes.write(tmp_path / "lake", proxy=rows), "proxy", detectors="proxy_beacon")
    assert _entities(result) == ["sync.urbanfood.net"]
    numbers = json.loads(result.threats.to_pylist()[0]["detectors"])[0]["numbers"]
    assert numbers["ts_score"] < 0.85 and numbers["ds_score"] < 0.7  # RITA's own, both gates'


def _slow_days(root, kind, row_of, days=3):
    """`days` days of a slow implant (every 2 h +- 40%, sizes of its tasks' output) and of a
    person's visits to a favourite site (a dozen a day at random), the last day being DAY."""
    rng = random.Random(11)
    for back in range(days - 1, -1, -1):
        start, rows = START - 86400 * back, []
        t = start + rng.randint(0, 3000)
        while t < start + 86000:
            rows.append(row_of(t, "10.19.0.5", "implant", int(rng.lognormvariate(7, 1))))
            t += int(7200 * rng.uniform(0.6, 1.4))
        t = start + 8 * 3600
        while t < start + 20 * 3600:
            rows.append(row_of(t, "10.19.0.6", "person", int(rng.lognormvariate(7, 1))))
            t += int(rng.expovariate(1 / 3600))
        lake = lakes.write(root, day=DAY - dt.timedelta(days=back), **{kind: rows})
    return lake


def _slow_proxy(t, client, who, size):
    host = {"implant": "cdn.static-cache.org", "person": "news.example.org"}[who]
    return lakes.proxy(t, client, host, csbytes=size)


def _slow_flow(t, src, who, size):
    return lakes.flow(t, src, {"implant": "185.77.9.9", "person": "151.101.1.1"}[who], 443, size)


def test_a_slow_beacon_short_of_the_gates_in_a_day_is_a_beacon_across_three_days(tmp_path):
    """12 check-ins a day at a 40% jitter either side are too few for timing alone (12 of a
    person's visits can be that tight by chance); three days' 35 are not."""
    for kind, row_of, detector, entity in (
        ("proxy", _slow_proxy, "proxy_beacon", "cdn.static-cache.org"),
        ("flow", _slow_flow, "beacon", "10.19.0.5 -> 185.77.9.9"),
    ):
        lake = _slow_days(tmp_path / kind, kind, row_of)
        first = detect_day(DuckDBEngine(lake), kind, DAY - dt.timedelta(days=2), detectors=detector,
                           settings=SpotLab(lake=str(lake.root)))  # fmt: skip
        assert _entities(first) == []  # its first day alone
        result = _run(lake, kind, detectors=detector)
        assert _entities(result) == [entity]
        row = json.loads(result.threats.to_pylist()[0]["detectors"])[0]
        assert row["numbers"]["days"] == 3 and row["numbers"]["conns"] >= 30
        assert "across 3 days" in row["summary"]


def _slow_named_days(root, days=3):
    """`days` days of a slow implant behind a CDN (every 2 h +- 40%, each check-in resolving
    its name to one of many addresses) and of a person's visits to a site (a dozen a day at
    random), each flow after its DNS answer, the last day being DAY."""
    rng = random.Random(13)
    for back in range(days - 1, -1, -1):
        start, flows, dns = START - 86400 * back, [], []
        visits = []
        t = start + rng.randint(0, 3000)
        while t < start + 86000:
            visits.append((t, "10.19.0.5", "cdn.static-cache.org",
                           f"185.77.{rng.randint(0, 255)}.{rng.randint(1, 254)}"))  # fmt: skip
            t += int(7200 * rng.uniform(0.6, 1.4))
        t = start + 8 * 3600
        while t < start + 20 * 3600:
            visits.append((t, "10.19.0.6", "news.example.org", "151.101.1.1"))
            t += int(rng.expovariate(1 / 3600))
        for t, client, name, ip in visits:
            dns.append(lakes.dns(t - 1, client, name, 1, 0, ip))
            flows.append(lakes.flow(t, client, ip, 443, int(rng.lognormvariate(7, 1))))
        lake = lakes.write(root, day=DAY - dt.timedelta(days=back), flow=flows, dns=dns)
    return lake


def test_a_slow_beacon_to_a_name_on_ever_changing_addresses_is_found_across_three_days(tmp_path):
    """No address repeats, so only the name beacons; its 12 check-ins a day are short of the
    gates, three days' are not."""
    lake = _slow_named_days(tmp_path / "lake")
    first = detect_day(DuckDBEngine(lake), "flow", DAY - dt.timedelta(days=2),
                       detectors="beacon,beacon_fqdn", settings=SpotLab(lake=str(lake.root)))  # fmt: skip
    assert _entities(first) == []  # its first day alone
    result = _run(lake, "flow", detectors="beacon,beacon_fqdn")
    assert _entities(result) == ["10.19.0.5 -> cdn.static-cache.org"]
    row = json.loads(result.threats.to_pylist()[0]["detectors"])[0]
    assert row["detector"] == "beacon_fqdn" and row["numbers"]["days"] == 3
    assert row["numbers"]["conns"] >= 30 and "across 3 days" in row["summary"]


def test_a_regular_beacon_is_kept_when_irregular_pairs_outscore_it_beyond_the_limit(
    tmp_path, monkeypatch
):
    """RITA's score ranks the pairs, but only regular ones are findings: the rows a detector
    keeps (limits.findings_per_detector) are the regular ones first. People's all-day visits
    score higher on RITA's histogram and duration than an implant seen 8 h of a busy
    client's day."""
    import spot_lab.detect.flow as flow_detectors

    monkeypatch.setattr(flow_detectors, "limit", lambda: 3)
    rows = _implant_at_49_percent("10.18.0.5")
    rows += [lakes.proxy(START + at, "10.18.0.5", "intranet.example.org") for at in (60, 86000)]
    rng = random.Random(7)
    for k in range(6):  # people visiting a site all day at random
        t = START + rng.randint(0, 1800)
        while t < START + 86000:
            rows.append(lakes.proxy(t, f"10.18.1.{k}", f"site{k}.example.net",
                                    csbytes=int(rng.lognormvariate(6.5, 1))))  # fmt: skip
            t += int(rng.expovariate(1 / 2400))
    result = _run(lakes.write(tmp_path / "lake", proxy=rows), "proxy", detectors="proxy_beacon")
    assert _entities(result) == ["sync.urbanfood.net"]
