"""Attacks seen in the flow data, one function per scenario; parameters from scenarios.yaml."""

from __future__ import annotations

import ipaddress

import numpy as np

from spot_lab.demo import world_data as W
from spot_lab.demo.kit import US, Day, beacon_times, packets, spread, window
from spot_lab.demo.rows import US_PER_DAY, US_PER_HOUR, dns_rows, ephemeral, flow_rows
from spot_lab.demo.traffic import NMAP_TOP_PORTS


def c2_beaconing(d: Day) -> None:
    """An implant's check-ins to its server, with its framework's sleep and jitter, plus a
    few larger tasking transfers; the host keeps its normal traffic and resolves the name."""
    p, w, rng = d.plan["c2_beaconing"], d.w, d.rng
    host, ip, name = w.actor["c2"], w.actor_ip["c2"], w.actor_name["c2"]
    start, end = window(p["start_hour"], p["active_hours"])
    us = beacon_times(rng, start, end, p["sleep_s"], p["jitter_pct"], p["jitter_mode"])
    n, das = len(us), w.asn_of(ip)
    sent = spread(rng, p["checkin_bytes"], p["size_spread_pct"], n)
    got = spread(rng, p["checkin_bytes"] * 1.6, p["size_spread_pct"], n)
    d.add("flow", flow_rows(d.day, us, host, ip, ephemeral(rng, n), p["dport"],
                            packets(rng, sent), sent, opkt=packets(rng, got), obyt=got,
                            tdur=rng.uniform(0.1, 1.5, n), das=das))  # fmt: skip
    k = min(p["tasks"], n)
    task_us = np.sort(rng.choice(us, k, replace=False)) + 2 * US
    size = (p["task_bytes"] * rng.uniform(0.3, 3.0, k)).astype(np.int64)
    d.add("flow", flow_rows(d.day, task_us, host, ip, ephemeral(rng, k), p["dport"],
                            packets(rng, size // 30), size // 30, opkt=packets(rng, size),
                            obyt=size, tdur=np.clip(size / 2e5, 1, 120), das=das))  # fmt: skip
    lookups = np.arange(start, end, max(p["dns_ttl_s"], p["sleep_s"]) * US).astype(np.int64)
    lookups = lookups + int(rng.integers(0, US))
    d.add("dns", _lookups(d, lookups, host, name, ip))
    d.record("c2_beaconing", "flow",
             f"{host} checks in with {ip}:{p['dport']} every ~{p['sleep_s']:.0f} s "
             f"(jitter {p['jitter_pct']:.0f}%, {p['jitter_mode']}) for {p['active_hours']:.1f} h "
             f"and resolves {name}; {k} larger tasking transfers",
             np.concatenate([us, task_us]), ips=[ip], query_names=[name], hosts=[host],
             compromised=[host])  # fmt: skip


def _lookups(d: Day, us: np.ndarray, client: str, name: str, ip: str):
    us = us[us < US_PER_DAY]
    return dns_rows(d.day, us, client, name, 1, 0, ip, d.rng.integers(90, 130, len(us)), d.rng)


def strobe(d: Day) -> None:
    """A strobe as RITA v5 defines one: a pair with at least 86,400 connections in the day
    (one a second), here a loop running for most of the day at one to a few a second; on a
    day too small for it, the same loop slowed to its share of the day (a beacon)."""
    p, w, rng = d.plan["strobe"], d.w, d.rng
    host, ip = w.actor["strobe"], w.actor_ip["strobe"]
    start, end = window(p["start_hour"], p["active_hours"])
    n = min(int(p["connections"]), d.cap("flow", p["max_share"], 50))
    interval = (end - start) / n
    us = start + (np.arange(n) * interval).astype(np.int64)
    us = np.sort(us + rng.normal(0, 0.05 * interval, n).astype(np.int64))
    us = us[(us >= 0) & (us < US_PER_DAY)]
    n = len(us)
    sent = spread(rng, p["bytes"], 5, n)
    d.add("flow", flow_rows(d.day, us, host, ip, ephemeral(rng, n), p["dport"],
                            packets(rng, sent), sent, opkt=packets(rng, sent), obyt=sent,
                            tdur=rng.uniform(0.02, 0.3, n), das=w.asn_of(ip)))  # fmt: skip
    d.record("strobe", "flow",
             f"{host} connects to {ip}:{p['dport']} {n:,} times in {(end - start) / 3.6e9:.1f} h, "
             f"every ~{interval / US:.2f} s", us, ips=[ip], hosts=[host], compromised=[host])  # fmt: skip


def long_connection(d: Day) -> None:
    """One connection held open for hours, exported as records of the active timeout."""
    p, w, rng = d.plan["long_connection"], d.w, d.rng
    host, ip, timeout = w.actor["long"], w.actor_ip["long"], p["active_timeout_s"]
    start, end = window(p["start_hour"], p["hours"])
    us = np.arange(start, end, timeout * US).astype(np.int64)
    n = len(us)
    tdur = np.minimum(timeout, (end - us) / US)
    sent = np.maximum(60, p["bytes_per_s"] * tdur * rng.uniform(0.5, 1.5, n)).astype(np.int64)
    got = np.maximum(60, p["bytes_per_s"] * tdur * rng.uniform(0.5, 1.5, n)).astype(np.int64)
    flag = np.full(n, ".AP...", dtype=object)
    flag[0], flag[-1] = ".AP.S.", ".AP..F"
    d.add("flow", flow_rows(d.day, us, host, ip, int(ephemeral(rng, 1)[0]), p["dport"],
                            packets(rng, sent, 60, 900), sent, opkt=packets(rng, got, 60, 900),
                            obyt=got, tdur=tdur, flag=flag, das=w.asn_of(ip)))  # fmt: skip
    d.record("long_connection", "flow",
             f"{host} holds one connection to {ip}:{p['dport']} open for {(end - start) / 3.6e9:.1f} h "
             f"({n} records of {timeout} s)", us, ips=[ip], hosts=[host], compromised=[host])  # fmt: skip


def data_exfiltration(d: Day) -> None:
    """Large outbound transfers to a rare host, at any hour."""
    p, w, rng = d.plan["data_exfiltration"], d.w, d.rng
    host, ip, k = w.actor["exfil"], w.actor_ip["exfil"], p["transfers"]
    start, end = window(p["start_hour"], p["span_hours"])
    us = np.sort(rng.integers(start, max(end, start + 1), k))
    volume = (p["gigabytes"] * 1e9 * rng.dirichlet(np.ones(k))).astype(np.int64) + 100_000
    pk = packets(rng, volume, 1200, 1460)
    d.add("flow", flow_rows(d.day, us, host, ip, ephemeral(rng, k), p["dport"], pk, volume,
                            opkt=pk // 2 + 1, obyt=(pk // 2 + 1) * 52,
                            tdur=np.clip(volume / rng.uniform(2e6, 2e7, k), 5, 1800),
                            das=w.asn_of(ip)))  # fmt: skip
    d.record("data_exfiltration", "flow",
             f"{host} sends {volume.sum() / 1e9:.2f} GB in {k} transfers to {ip}:{p['dport']} "
             f"from {start / 3.6e9:.1f} h", us, ips=[ip], hosts=[host], compromised=[host])  # fmt: skip


def port_scan(d: Day) -> None:
    """Internal reconnaissance by an infected workstation: nmap's top ports on a few hosts,
    or one service swept across a /24, at the pace of a timing template."""
    p, w, rng = d.plan["port_scan"], d.w, d.rng
    scanner = w.actor["scanner"]
    known = set(w.ip_list[: w.n_internal])
    if p["mode"] == "ports":
        pool = [w.ip_list[int(i)] for i in np.r_[w.servers, w.clients]
                if w.ip_list[int(i)] not in w.actor_clients]  # fmt: skip
        targets = list(rng.choice(pool, p["targets"], replace=False))
        ports = list(NMAP_TOP_PORTS[: p["top_ports"]])
    else:
        net = ipaddress.ip_network(scanner + "/24", strict=False)
        offsets = rng.choice(np.arange(1, 255), p["sweep_hosts"], replace=False)
        targets = [str(net[int(o)]) for o in offsets if str(net[int(o)]) != scanner]
        ports = list(p["sweep_ports"])
    limit = d.cap("flow", p["max_share"], 20)
    while len(targets) * len(ports) > limit and (len(ports) > 3 or len(targets) > 1):
        ports, targets = (ports[:-1], targets) if len(ports) > 3 else (ports, targets[:-1])
    dst = np.repeat(np.array(targets, dtype=object), len(ports))
    dport = np.tile(np.array(ports), len(targets))
    order = rng.permutation(len(dst))  # nmap randomises the order of its probes
    dst, dport = dst[order], dport[order]
    k = len(dst)
    gap = {"T1": 15.0, "T2": 0.4, "T3": 0.02, "T4": 0.008, "T5": 0.003}[p["timing"]]
    span = np.cumsum(rng.exponential(gap * US, k)).astype(np.int64)
    us = int(rng.integers(0, max(1, US_PER_DAY - int(span[-1]) - 1))) + span
    exists = np.isin(dst, list(known))
    rejected = exists & (rng.random(k) < p["rejected_share"])
    flag = np.where(rejected, "...RS.", "....S.").astype(object)
    tries = np.where(rejected, 1, rng.integers(1, 3, k))  # unanswered SYNs are retried once
    d.add("flow", flow_rows(d.day, us, scanner, dst, int(rng.integers(40000, 65000)), dport,
                            tries, tries * rng.choice([44, 60], k),
                            flag=flag, opkt=rejected.astype(np.int64),
                            obyt=rejected.astype(np.int64) * 40))  # fmt: skip
    d.record("port_scan", "flow",
             f"{scanner} probes {len(ports)} port(s) on {len(targets)} internal host(s) "
             f"(nmap {p['timing']}, {p['mode']}), {rejected.mean():.0%} rejected", us,
             ips=[scanner], hosts=[scanner, *[t for t in targets if t in known]],
             compromised=[scanner])  # fmt: skip


def ssh_brute_force(d: Day) -> None:
    _brute_force(d, "ssh_brute_force", "ssh")


def rdp_brute_force(d: Day) -> None:
    _brute_force(d, "rdp_brute_force", "rdp")


# (packets, bytes) of one failed login, each way: SSH's key exchange and auth failure; RDP's
# TLS and CredSSP (NLA) rejection.
_LOGIN = {"ssh": ((12, 25), (2000, 4500), (10, 20), (2500, 5000), (0.5, 4.0)),
          "rdp": ((15, 40), (3000, 9000), (12, 30), (4000, 12000), (1.0, 6.0))}  # fmt: skip


def _brute_force(d: Day, name: str, role: str) -> None:
    """Many short failed logins to one service from one source, some rejected outright;
    sometimes a last one succeeds and a long session follows."""
    p, w, rng = d.plan[name], d.w, d.rng
    external = p["origin"] == "external"
    attacker = w.actor_ip[role] if external else w.actor[role]
    pool = w.dmz if external else w.servers
    targets = [w.ip_list[int(i)] for i in rng.choice(pool, p["targets"], replace=False)]
    n = min(int(p["attempts"]), d.cap("flow", p["max_share"], 50))
    gaps = rng.exponential(60 / p["per_minute"] * US, n)
    span = np.cumsum(gaps).astype(np.int64)
    if span[-1] > US_PER_DAY // 2:  # keep the campaign within half a day
        span = (span * (US_PER_DAY // 2) / span[-1]).astype(np.int64)
    start = int(min(p["start_hour"] * US_PER_HOUR, US_PER_DAY - 1 - span[-1]))
    us = start + span
    dst = np.array(targets, dtype=object)[np.arange(n) % len(targets)]
    ipk, ib, opk, ob, dur = _LOGIN[role]
    rejected = rng.random(n) < p["rejected_share"]
    flag = np.where(rejected, np.where(rng.random(n) < 0.5, "....S.", "...RS."), ".AP.SF")
    ipkt = np.where(rejected, rng.integers(1, 4, n), rng.integers(*ipk, n))
    ibyt = np.where(rejected, ipkt * 60, rng.integers(*ib, n))
    opkt = np.where(rejected, (flag == "...RS.").astype(int), rng.integers(*opk, n))
    obyt = np.where(rejected, opkt * 40, rng.integers(*ob, n))
    tdur = np.where(rejected, rng.uniform(0, 3, n), rng.uniform(*dur, n))
    side = (
        {"sas": w.asn_of(attacker), "rip": W.ROUTERS[2], "internal_src": False} if external else {}
    )
    rows = [flow_rows(d.day, us, attacker, dst, ephemeral(rng, n), p["dport"], ipkt, ibyt,
                      flag=flag.astype(object), opkt=opkt, obyt=obyt, tdur=tdur, **side)]  # fmt: skip
    if p["success"]:
        at = np.array([min(US_PER_DAY - 1, us[-1] + 5 * US)])
        rows.append(flow_rows(d.day, at, attacker, dst[-1], ephemeral(rng, 1), p["dport"],
                              np.array([4000]), np.array([900_000]), opkt=np.array([6000]),
                              obyt=np.array([4_500_000]), tdur=np.array([1800.0]), **side))  # fmt: skip
    d.add("flow", *rows)
    mine = [] if external else [attacker]
    d.record(name, "flow",
             f"{attacker} tries {n:,} logins on port {p['dport']} of {', '.join(targets)} "
             f"({p['per_minute']:.1f}/min, {rejected.mean():.0%} rejected)"
             + ("; the last one succeeds" if p["success"] else ""), us, ips=[attacker],
             hosts=mine + targets,
             compromised=mine + (targets[-1:] if p["success"] else []))  # fmt: skip


def lateral_movement(d: Day) -> None:
    """After the C2 host's compromise, sessions to admin ports of other workstations (pairs
    never seen before: each day new targets), RDP for minutes, SMB/WinRM/SSH briefly."""
    p, w, rng = d.plan["lateral_movement"], d.w, d.rng
    source = w.actor["c2"]
    pool = [w.ip_list[int(i)] for i in w.clients
            if w.ip_list[int(i)] not in w.actor_clients | w.moved_to]  # fmt: skip
    targets = list(rng.choice(pool, p["targets"], replace=False))
    w.moved_to |= set(targets)
    c2 = d.plan["c2_beaconing"]
    begin = c2["start_hour"] * US_PER_HOUR + p["delay_minutes"] * 60 * US
    begin = int(min(begin, US_PER_DAY - 5 * US_PER_HOUR))
    k = len(targets) * p["connections"]
    us = np.sort(begin + rng.integers(0, 4 * US_PER_HOUR, k))
    dst = np.array(targets, dtype=object)[rng.integers(0, len(targets), k)]
    dport = np.array(p["ports"])[rng.integers(0, len(p["ports"]), k)]
    size = (p["session_mb"] * 1e6 * rng.uniform(0.2, 2.0, k)).astype(np.int64) + 2000
    tdur = np.where(dport == 3389, rng.uniform(60, 1800, k), rng.uniform(0.5, 60, k))
    d.add("flow", flow_rows(d.day, us, source, dst, ephemeral(rng, k), dport,
                            packets(rng, size // 4), size // 4, opkt=packets(rng, size), obyt=size,
                            tdur=tdur))  # fmt: skip
    d.record("lateral_movement", "flow",
             f"{source} (the C2 host) opens admin-port sessions ({', '.join(map(str, p['ports']))}) "
             f"to {len(targets)} workstation(s) it never reached before: {', '.join(targets)}",
             us, ips=targets, pairs=[(source, t) for t in targets], hosts=[source, *targets],
             compromised=[source, *targets])  # fmt: skip
