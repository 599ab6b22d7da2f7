"""The generator's injected scenarios: drawn parameters, and rows that honour them.

Every check reads the scenario's drawn parameters from ground_truth.json, so it holds for any
seed; it runs on the session's demo lake and on small lakes of other seeds (other draws).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from statistics import median

import numpy as np
import pytest

from spot_lab.demo.generator import generate
from spot_lab.demo.params import draw_plan, ranges
from spot_lab.store.lake import Lake

ATTACKS = {
    "c2_beaconing": "flow", "strobe": "flow", "long_connection": "flow",
    "data_exfiltration": "flow", "port_scan": "flow", "ssh_brute_force": "flow",
    "rdp_brute_force": "flow", "lateral_movement": "flow", "dns_tunnelling": "dns",
    "dga_nxdomain": "dns", "data_exfiltration_http": "proxy", "phishing": "proxy",
    "proxy_beacon": "proxy",
}  # fmt: skip
BENIGN = {
    "ntp_sync": "flow", "software_updates": "proxy", "backup_job": "flow",
    "cdn_heartbeat": "flow", "monitoring_polls": "flow", "internet_scanners": "flow",
    "dnsbl_lookups": "dns", "av_reputation": "dns",
}  # fmt: skip
DAY = dt.date(2026, 11, 28)


@pytest.fixture(scope="module", params=["demo", 21, 22, 23])
def lake(request, demo_lake_path, tmp_path_factory):
    """(connection, ground truth) of the demo lake and of two-day lakes of other seeds."""
    if request.param == "demo":
        root = demo_lake_path
    else:
        root = tmp_path_factory.mktemp(f"seed{request.param}") / "lake"
        generate(root, DAY - dt.timedelta(1), days=2, flows_per_day=6000, seed=request.param,
                 progress=False)  # fmt: skip
    connection = Lake(root).connect()
    yield connection, json.loads((root / "ground_truth.json").read_text())
    connection.close()


def rows(con, sql: str, params: dict | None = None) -> list[tuple]:
    table = con.sql(sql, params)
    return list(zip(*(table.column(i).to_pylist() for i in range(table.num_columns)), strict=True))


def one(con, sql: str, params: dict | None = None):
    value = rows(con, sql, params)[0][0]
    return (
        float(value) if hasattr(value, "as_integer_ratio") and not isinstance(value, int) else value
    )


def scenario(truth: dict, name: str, day: dt.date = DAY) -> dict:
    return next(s for s in truth["scenarios"] if s["name"] == name and s["date"] == str(day))


def epoch(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp())


def span(s: dict) -> dict:
    return {"lo": epoch(s["window"]["start"]), "hi": epoch(s["window"]["end"])}


def gaps(stamps: list[int]) -> list[int]:
    return [b - a for a, b in zip(stamps, stamps[1:], strict=False)]


# ---- parameters -------------------------------------------------------------------------------
def test_every_range_has_a_source_and_every_scenario_its_entry():
    spec = ranges()
    assert set(spec) == set(ATTACKS) | set(BENIGN)
    assert all(entry["source"].strip() for params in spec.values() for entry in params.values())


def test_parameters_spread_over_their_ranges_across_seeds():
    plans = [draw_plan(seed, np.random.default_rng(seed)) for seed in range(40)]
    for name, params in ranges().items():
        for key, entry in params.items():
            values = [json.dumps(plan[name][key], sort_keys=True) for plan in plans]
            if "value" in entry:
                assert len(set(values)) == 1
                continue
            assert len(set(values)) >= min(3, len(entry.get("choice", [0, 1, 2]))), (name, key)
            for plan in plans:
                value = plan[name][key]
                for kind in ("uniform", "loguniform", "integers"):
                    if kind in entry:
                        lo, hi = entry[kind]
                        assert lo <= value <= hi, (name, key, value)
                if "choice" in entry:
                    assert value in entry["choice"], (name, key, value)


def test_seed_level_parameters_persist_across_days_and_day_level_ones_change():
    day1, day2 = (draw_plan(5, np.random.default_rng([5, d])) for d in (1, 2))
    for name, params in ranges().items():
        for key, entry in params.items():
            same = json.dumps(day1[name][key]) == json.dumps(day2[name][key])
            if entry.get("per") != "day":
                assert same, (name, key)  # the attacker's or the product's configuration
    changed = [(n, k) for n, params in ranges().items() for k, e in params.items()
               if e.get("per") == "day" and day1[n][k] != day2[n][k]]  # fmt: skip
    assert len(changed) >= 20


# ---- ground truth -----------------------------------------------------------------------------
def test_ground_truth_lists_attacks_and_benign_look_alikes(lake):
    _con, truth = lake
    today = [s for s in truth["scenarios"] if s["date"] == str(DAY)]
    assert {s["name"]: s["data_type"] for s in today} == {**ATTACKS, **BENIGN}
    for s in today:
        assert s["benign"] == (s["name"] in BENIGN)
        assert set(s["anchors"]) == {"ips", "query_names", "uris", "pairs"}
        assert any(s["anchors"][k] for k in ("ips", "query_names", "uris")), s["name"]
        assert s["internal_hosts"] and all(ipaddress.ip_address(h).is_private
                                           for h in s["internal_hosts"]), s["name"]  # fmt: skip
        assert set(s["compromised_hosts"]) <= set(s["internal_hosts"])
        assert bool(s["compromised_hosts"]) != s["benign"] or s["name"].endswith("brute_force")
        assert (s["patient_zero"] is not None) == (s["name"] == "phishing")
        assert s["window"]["start"] <= s["window"]["end"]
        assert s["parameters"] and set(s["parameters"]) == set(ranges()[s["name"]])


def test_flow_anchor_ips_appear_only_in_their_scenario(lake):
    con, truth = lake
    for name in ("c2_beaconing", "strobe", "long_connection", "data_exfiltration"):
        s = scenario(truth, name)
        (anchor,) = s["anchors"]["ips"]
        total, inside, peers = rows(
            con,
            """SELECT count(*), count(*) FILTER (WHERE unix_tstamp BETWEEN $lo AND $hi),
                      list(DISTINCT CASE WHEN sip = $ip THEN dip ELSE sip END)
               FROM flow WHERE (sip = $ip OR dip = $ip) AND trday = $d""",
            {"ip": anchor, "d": DAY.day, **span(s)},
        )[0]
        assert total > 0 and total == inside, name
        assert set(peers) == set(s["internal_hosts"]), name


# ---- flow attacks -----------------------------------------------------------------------------
def test_c2_checks_in_at_its_drawn_sleep(lake):
    con, truth = lake
    s = scenario(truth, "c2_beaconing")
    p, (ip,), (host,) = s["parameters"], s["anchors"]["ips"], s["internal_hosts"]
    stamps = [t for (t,) in rows(con, "SELECT unix_tstamp FROM flow WHERE dip = $ip AND sip = $h "
                                 "AND trday = $d AND ibyt < $big ORDER BY 1",
                                 {"ip": ip, "h": host, "d": DAY.day,
                                  "big": p["checkin_bytes"] * 1.2})]  # fmt: skip
    mean = {"subtract": 1 - p["jitter_pct"] / 200, "add": 1 + p["jitter_pct"] / 200}.get(
        p["jitter_mode"], 1.0) * p["sleep_s"]  # fmt: skip
    assert median(gaps(stamps)) == pytest.approx(mean, rel=0.15, abs=2)
    assert len(stamps) >= 0.8 * p["active_hours"] * 3600 / mean - 2
    ports = {d for (d,) in rows(con, "SELECT DISTINCT dport FROM flow WHERE dip = $ip", {"ip": ip})}
    assert ports == {p["dport"]}
    lookups = one(con, "SELECT count(*) FROM dns WHERE dns_qry_name = $n AND ip_dst = $h "
                  "AND dns_a = $ip", {"n": s["anchors"]["query_names"][0], "h": host, "ip": ip})  # fmt: skip
    assert lookups >= 1


def test_strobe_and_long_connection(lake):
    con, truth = lake
    s = scenario(truth, "strobe")
    stamps = [t for (t,) in rows(con, "SELECT unix_tstamp FROM flow WHERE dip = $ip "
                                 "AND trday = $d ORDER BY 1", {"ip": s["anchors"]["ips"][0], "d": DAY.day})]  # fmt: skip
    p = s["parameters"]  # a loop for most of the day, as fast as the day's share allows
    assert 50 <= len(stamps) <= p["connections"]
    span = stamps[-1] - stamps[0]
    assert span / 3600 >= min(p["active_hours"], 24 - p["start_hour"]) - 0.1
    assert median(gaps(stamps)) == pytest.approx(span / len(stamps), rel=0.2, abs=1)
    s = scenario(truth, "long_connection")
    p = s["parameters"]
    records = rows(con, "SELECT tdur, flag, sport FROM flow WHERE dip = $ip AND trday = $d "
                   "ORDER BY unix_tstamp", {"ip": s["anchors"]["ips"][0], "d": DAY.day})  # fmt: skip
    assert len({sport for *_, sport in records}) == 1  # one connection
    assert max(t for t, *_ in records) <= p["active_timeout_s"] + 0.01
    assert sum(t for t, *_ in records) / 3600 >= min(p["hours"], 24 - p["start_hour"]) - 0.1
    assert records[0][1] == ".AP.S." and records[-1][1] == ".AP..F"


def test_exfiltration_volume_and_uploads(lake):
    con, truth = lake
    s = scenario(truth, "data_exfiltration")
    volume = one(con, "SELECT sum(ibyt) FROM flow WHERE dip = $ip AND trday = $d",
                 {"ip": s["anchors"]["ips"][0], "d": DAY.day})  # fmt: skip
    assert volume == pytest.approx(s["parameters"]["gigabytes"] * 1e9, rel=0.01)
    http = scenario(truth, "data_exfiltration_http")
    p = http["parameters"]
    count, small, methods, agents, clients = rows(
        con, """SELECT count(*), min(csbytes), list(DISTINCT reqmethod), list(DISTINCT useragent),
                       list(DISTINCT clientip) FROM proxy WHERE list_contains($uris, fulluri)""",
        {"uris": http["anchors"]["uris"]})[0]  # fmt: skip
    assert count == len(http["anchors"]["uris"]) >= 5
    assert small >= 0.8 * p["request_mb"] * 1e6 * 0.99
    assert methods == [p["method"]] and agents == [p["agent"]]
    assert clients == http["internal_hosts"] == s["internal_hosts"]


def test_internal_port_scan_follows_its_mode_and_timing(lake):
    con, truth = lake
    s = scenario(truth, "port_scan")
    p, (scanner,) = s["parameters"], s["anchors"]["ips"]
    assert ipaddress.ip_address(scanner).is_private
    probes = rows(con, "SELECT dip, dport, flag, ipkt, unix_tstamp FROM flow WHERE sip = $ip "
                  "AND trday = $d AND flag IN ('....S.', '...RS.') ORDER BY unix_tstamp",
                  {"ip": scanner, "d": DAY.day})  # fmt: skip
    targets = {t for t, *_ in probes}
    ports = {port for _, port, *_ in probes}
    assert len(probes) >= 20 and all(1 <= k <= 2 for *_, k, _ in probes)
    if p["mode"] == "sweep":
        assert ports <= set(p["sweep_ports"]) and len(targets) >= 10
    else:
        assert len(ports) >= min(p["top_ports"], 3)
    rejected = sum(f == "...RS." for _, _, f, *_ in probes) / len(probes)
    assert rejected <= p["rejected_share"] + 0.1
    pace = median(gaps([t for *_, t in probes]))
    assert pace >= 5 if p["timing"] == "T1" else pace <= 5


@pytest.mark.parametrize("name, service", [("ssh_brute_force", (22, 2222)),
                                           ("rdp_brute_force", (3389,))])  # fmt: skip
def test_brute_force_is_many_short_failed_logins(lake, name, service):
    con, truth = lake
    s = scenario(truth, name)
    p, (attacker,) = s["parameters"], s["anchors"]["ips"]
    # the attacker's flows to its targets on login ports (an internal attacker is a workstation
    # that also uses those servers for other services)
    tries = rows(con, "SELECT dip, dport, flag, tdur FROM flow WHERE sip = $ip AND trday = $d "
                 "AND list_contains($t, dip) AND dport IN (22, 2222, 3389)",
                 {"ip": attacker, "d": DAY.day, "t": s["internal_hosts"]})  # fmt: skip
    assert len(tries) >= 50 and {port for _, port, *_ in tries} == {p["dport"]}
    assert p["dport"] in service
    assert {t for t, *_ in tries} <= set(s["internal_hosts"])
    assert ipaddress.ip_address(attacker).is_private == (p["origin"] == "internal")
    short = [t for *_, t in tries if t <= 6]
    assert len(short) >= len(tries) - 1
    assert (len(short) < len(tries)) == p["success"]  # a session follows a guessed password
    rejected = sum(f in ("....S.", "...RS.") for _, _, f, _ in tries) / len(tries)
    assert rejected == pytest.approx(p["rejected_share"], abs=0.12)


def test_lateral_movement_pairs_are_new_that_day(lake):
    con, truth = lake
    s = scenario(truth, "lateral_movement")
    pairs = s["anchors"]["pairs"]
    assert pairs and all(a == s["compromised_hosts"][0] for a, _ in pairs)
    for source, target in pairs:
        days, ports = rows(con, "SELECT list(DISTINCT trday), list(DISTINCT dport) FROM flow "
                           "WHERE sip = $a AND dip = $b", {"a": source, "b": target})[0]  # fmt: skip
        assert days == [DAY.day] and set(ports) <= set(s["parameters"]["ports"])
    c2 = scenario(truth, "c2_beaconing")
    assert s["window"]["start"] >= c2["window"]["start"]  # after the compromise


# ---- DNS and proxy attacks --------------------------------------------------------------------
def test_dns_tunnel_labels_follow_the_tool(lake):
    con, truth = lake
    s = scenario(truth, "dns_tunnelling")
    p, (client,), names = s["parameters"], s["anchors"]["ips"], s["anchors"]["query_names"]
    found = rows(con, "SELECT dns_qry_name, dns_qry_type FROM dns WHERE ip_dst = $ip "
                 "AND list_contains($names, dns_qry_name) AND unix_tstamp BETWEEN $lo AND $hi",
                 {"ip": client, "names": names, **span(s)})  # fmt: skip
    assert len(found) == len(names) == len(set(names)) >= 40
    domain = ".".join(names[0].split(".")[-2:])
    alphabet = set(p["tool"]["alphabet"])
    for name, qtype in found:
        labels = name[: -len(domain) - 1].split(".")
        assert name.endswith("." + domain) and len(labels) <= p["labels"]
        assert all(len(x) <= p["label_length"] and set(x) <= alphabet for x in labels)
        assert qtype in p["tool"]["qtypes"]


def test_dga_names_follow_the_family(lake):
    con, truth = lake
    s = scenario(truth, "dga_nxdomain")
    p, (client,), names = s["parameters"], s["anchors"]["ips"], s["anchors"]["query_names"]
    family = p["family"]
    found = rows(con, "SELECT dns_qry_name, dns_qry_rcode FROM dns WHERE ip_dst = $ip AND "
                 "list_contains($names, dns_qry_name) AND unix_tstamp BETWEEN $lo AND $hi",
                 {"ip": client, "names": names, **span(s)})  # fmt: skip
    assert len(found) == len(names) >= 12
    for name, _ in found:
        label, tld = name.rsplit(".", 1)
        assert tld in family["tlds"]
        if family["name"] != "wordlist":
            assert family["min"] <= len(label) <= family["max"] and set(label) <= set(
                family["alphabet"]
            )
    answered = sum(r == 0 for _, r in found)
    assert answered == (1 if p["resolves"] else 0)


def test_phishing_patient_zero_is_the_first_client_in_the_data(lake):
    con, truth = lake
    s = scenario(truth, "phishing")
    phish_uri, _post_uri, payload_uri = s["anchors"]["uris"]
    visits = rows(con, """SELECT clientip, min(p_date || ' ' || p_time) first_visit FROM proxy
                          WHERE fulluri = $uri GROUP BY clientip ORDER BY first_visit""",
                  {"uri": phish_uri})  # fmt: skip
    assert len(visits) == s["parameters"]["victims"]
    assert visits[0][0] == s["patient_zero"] and visits[0][1] == s["window"]["start"]
    assert [c for c, _ in visits] == s["internal_hosts"]
    referers = {r for (r,) in rows(con, "SELECT DISTINCT referer FROM proxy WHERE fulluri = $u",
                                   {"u": phish_uri})}  # fmt: skip
    assert all(r.startswith(f"https://{s['parameters']['webmail']}/mail/") for r in referers)
    payload = rows(
        con, "SELECT clientip, referer FROM proxy WHERE fulluri = $u", {"u": payload_uri}
    )
    assert payload and all(r == "https://" + phish_uri for _, r in payload)
    assert payload_uri.endswith("." + s["parameters"]["payload_ext"])
    flows = {c for (c,) in rows(con, "SELECT DISTINCT sip FROM flow WHERE dip = $ip AND trday = $d",
                                {"ip": s["anchors"]["ips"][0], "d": DAY.day})}  # fmt: skip
    assert flows == set(s["internal_hosts"])


def test_proxy_beacon_reaches_one_rare_host_at_its_interval(lake):
    con, truth = lake
    s = scenario(truth, "proxy_beacon")
    p, (host,) = s["parameters"], s["anchors"]["query_names"]
    found = rows(con, "SELECT clientip, reqmethod, unix_tstamp FROM (SELECT *, epoch(strptime("
                 "p_date || ' ' || p_time, '%Y-%m-%d %H:%M:%S')) AS unix_tstamp FROM proxy) "
                 "WHERE host = $h AND p_date = $d ORDER BY 3", {"h": host, "d": str(DAY)})  # fmt: skip
    assert {c for c, *_ in found} == set(s["internal_hosts"])
    methods = {m for _, m, _ in found}
    assert methods == {"CONNECT"} if p["mode"] == "connect" else methods <= {"GET", "POST"}
    assert median(gaps([int(t) for *_, t in found])) == pytest.approx(
        p["interval_s"], rel=0.2, abs=2
    )
    assert len(found) >= 0.8 * p["active_hours"] * 3600 / p["interval_s"] - 2


# ---- benign look-alikes -----------------------------------------------------------------------
def test_regular_benign_services_tick_at_their_interval(lake):
    con, truth = lake
    for name, interval in (("ntp_sync", "poll_s"), ("cdn_heartbeat", "interval_s"),
                           ("monitoring_polls", "interval_s")):  # fmt: skip
        s = scenario(truth, name)
        ips = s["anchors"]["ips"]
        pair = rows(con, "SELECT sip, dip, dport FROM flow WHERE (list_contains($ips, dip) OR "
                    "list_contains($ips, sip)) AND trday = $d LIMIT 1", {"ips": ips, "d": DAY.day})[0]  # fmt: skip
        stamps = [t for (t,) in rows(con, "SELECT unix_tstamp FROM flow WHERE sip = $a AND "
                                     "dip = $b AND dport = $p AND trday = $d ORDER BY 1",
                                     {"a": pair[0], "b": pair[1], "p": pair[2], "d": DAY.day})]  # fmt: skip
        step = median(gaps(stamps))
        drawn = s["parameters"][interval]
        # the generator may lengthen the interval (powers of two) to fit a small day
        assert step >= 0.9 * drawn and round(np.log2(step / drawn)) == pytest.approx(
            np.log2(step / drawn), abs=0.1), name  # fmt: skip


def test_backup_and_inbound_scanners_and_benign_lookups(lake):
    con, truth = lake
    s = scenario(truth, "backup_job")
    volume, hours = rows(con, "SELECT sum(ibyt), list(DISTINCT trhour) FROM flow WHERE dip = $ip "
                         "AND trday = $d", {"ip": s["anchors"]["ips"][0], "d": DAY.day})[0]  # fmt: skip
    assert float(volume) == pytest.approx(s["parameters"]["gigabytes"] * 1e9, rel=0.25)
    assert s["parameters"]["start_hour"] in hours
    s = scenario(truth, "internet_scanners")
    inbound = rows(con, "SELECT list(DISTINCT flag), max(ipkt), bool_and(list_contains($dmz, dip)) "
                   "FROM flow WHERE list_contains($ips, sip) AND trday = $d",
                   {"ips": s["anchors"]["ips"], "dmz": s["internal_hosts"], "d": DAY.day})[0]  # fmt: skip
    assert inbound == (["....S."], 1, True)
    s = scenario(truth, "dnsbl_lookups")
    client, nx = rows(con, "SELECT list(DISTINCT ip_dst), avg((dns_qry_rcode = 3)::INT) FROM dns "
                      "WHERE list_contains($n, dns_qry_name)", {"n": s["anchors"]["query_names"]})[0]  # fmt: skip
    assert client == s["internal_hosts"] and nx == pytest.approx(
        1 - s["parameters"]["listed_share"], abs=0.15)  # fmt: skip
    s = scenario(truth, "av_reputation")
    clients = one(con, "SELECT count(DISTINCT ip_dst) FROM dns WHERE list_contains($n, dns_qry_name)",
                  {"n": s["anchors"]["query_names"]})  # fmt: skip
    assert clients >= min(5, len(s["internal_hosts"]))
