"""Benign look-alikes in the background, labelled benign in the ground truth: regular, large
or noisy traffic that is legitimate (NTP, updates, backups, heartbeats, monitoring, Internet
scanners on the public servers, DNS blocklist and antivirus lookups).

Inbound scans of the DMZ are Internet background radiation (research and botnet scanners
touch every exposed address many times a day; GreyNoise, Shadowserver): they are benign
here, however many ports they touch, as long as they are SYNs the firewall answers or drops.
A sustained brute force on an exposed login service, or any scan from an internal host, is
an attack (see attacks_flow.py)."""

from __future__ import annotations

import numpy as np

from spot_lab.demo import world_data as W
from spot_lab.demo.kit import US, Day, random_labels
from spot_lab.demo.rows import US_PER_DAY, US_PER_HOUR, dns_rows, ephemeral, flow_rows, proxy_rows
from spot_lab.demo.traffic import NMAP_TOP_PORTS


def _periodic(rng, sources: int, interval_s: float, start: int = 0, end: int = US_PER_DAY,
              jitter: float = 0.01) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Times and source index of `sources` clocks ticking every interval_s (random phase)."""
    per = int((end - start) / (interval_s * US))
    phase = rng.uniform(0, interval_s * US, sources)
    ticks = start + phase[:, None] + np.arange(per)[None, :] * interval_s * US
    ticks = ticks + rng.normal(0, jitter * interval_s * US, ticks.shape)
    who = np.repeat(np.arange(sources), per)
    us = ticks.ravel().astype(np.int64)
    keep = (us >= 0) & (us < end)
    return us[keep], who[keep]


def _fit(count: int, per_source: float, limit: int) -> int:
    """How many sources fit in `limit` rows."""
    return int(max(1, min(count, limit // max(per_source, 1))))


def ntp_sync(d: Day) -> None:
    p, w, rng = d.plan["ntp_sync"], d.w, d.rng
    servers = w.benign_ip["ntp"][: p["servers"]]
    poll, limit = p["poll_s"], d.cap("flow", p["max_share"], 20)
    while len(servers) * 86400 / poll > limit and poll < 1024:
        poll *= 2
    n_hosts = _fit(p["hosts"], len(servers) * 86400 / poll, limit)
    picks = np.random.default_rng([w.seed, 3]).choice(w.servers, n_hosts, replace=False)
    hosts = list(dict.fromkeys([W.DOMAIN_CONTROLLER, *(w.ip_list[int(i)] for i in picks)]))
    hosts = hosts[:n_hosts]
    us, who = _periodic(rng, len(hosts) * len(servers), poll, jitter=0.002)
    sip = np.array(hosts, dtype=object)[who // len(servers)]
    dip = np.array(servers, dtype=object)[who % len(servers)]
    d.add("flow", flow_rows(d.day, us, sip, dip, 123, 123, 1, 76, opkt=1, obyt=76, proto="UDP",
                            flag="......"))  # fmt: skip
    d.record("ntp_sync", "flow", f"{len(hosts)} servers poll {len(servers)} NTP servers every "
             f"{poll} s", us, ips=servers, hosts=hosts, benign=True)  # fmt: skip


def software_updates(d: Day) -> None:
    p, w, rng = d.plan["software_updates"], d.w, d.rng
    hosts = list(np.random.default_rng([w.seed, 4]).choice(W.UPDATE_HOSTS, 2, replace=False))
    per_client = 24 / p["check_hours"]
    n_clients = _fit(int(p["client_share"] * len(w.clients)), per_client * 1.1,
                     d.cap("proxy", p["max_share"], 10))  # fmt: skip
    clients = rng.choice(w.clients, n_clients, replace=False)
    us, who = _periodic(rng, n_clients, p["check_hours"] * 3600, jitter=0.05)
    n = len(us)
    client = w.ips.take(clients[who]).to_numpy(zero_copy_only=False).astype(object)
    host = np.array(hosts, dtype=object)[who % 2]
    get = rng.random(n) < p["download_share"]
    path = np.where(get, "/packages/update-full.msu", "/update/manifest.xml").astype(object)
    size = np.where(
        get, p["download_mb"] * 1e6 * rng.uniform(0.5, 1.5, n), rng.integers(800, 4000, n)
    )
    agent = np.array(W.COMMON_AGENTS, dtype=object)[np.where(host == hosts[0], 8, 7)]
    d.add("proxy", proxy_rows(d.day, us, client, host, "GET", path, "-", agent=agent,
                              ctype="application/octet-stream", scbytes=np.minimum(size, 2e9).astype(np.int64),
                              csbytes=rng.integers(300, 900, n), webcat="Software Downloads",
                              rng=rng))  # fmt: skip
    d.record("software_updates", "proxy", f"{n_clients} clients check {', '.join(hosts)} every "
             f"{p['check_hours']} h, {int(get.sum())} download updates", us, query_names=hosts,
             uris=sorted({f"{h}{x}" for h in hosts for x in set(path.tolist())}),
             hosts=[str(w.ip_list[int(i)]) for i in clients], benign=True)  # fmt: skip


def backup_job(d: Day) -> None:
    p, w, rng = d.plan["backup_job"], d.w, d.rng
    source, dest = W.FILE_SERVER, w.benign_ip["backup"][0]
    timeout = d.plan["long_connection"]["active_timeout_s"]  # the exporter's, network-wide
    start = int(p["start_hour"] * US_PER_HOUR)
    us = np.arange(start, start + p["hours"] * US_PER_HOUR, timeout * US).astype(np.int64)
    us = us[us < US_PER_DAY]
    n = len(us)
    volume = (p["gigabytes"] * 1e9 / n * rng.uniform(0.8, 1.2, n)).astype(np.int64)
    pk = np.maximum(1, volume // 1400)
    d.add("flow", flow_rows(d.day, us, source, dest, ephemeral(rng, n), p["dport"], pk, volume,
                            opkt=pk // 2 + 1, obyt=(pk // 2 + 1) * 52,
                            tdur=np.full(n, float(timeout)), das=w.asn_of(dest)))  # fmt: skip
    d.record("backup_job", "flow", f"the file server {source} copies {p['gigabytes']:.1f} GB to "
             f"{dest}:{p['dport']} nightly from {p['start_hour']}:00", us, ips=[dest],
             hosts=[source], benign=True)  # fmt: skip


def cdn_heartbeat(d: Day) -> None:
    p, w, rng = d.plan["cdn_heartbeat"], d.w, d.rng
    edges, interval = w.benign_ip["heartbeat"], p["interval_s"]
    limit = d.cap("flow", p["max_share"], 20)
    while 86400 / interval > limit / 3:
        interval *= 2
    n_clients = _fit(p["clients"], 86400 / interval, limit)
    clients = np.random.default_rng([w.seed, 5]).choice(w.clients, n_clients, replace=False)
    us, who = _periodic(rng, n_clients, interval, jitter=0.03)
    n = len(us)
    sip = w.ips.take(clients[who]).to_numpy(zero_copy_only=False).astype(object)
    dip = np.array(edges, dtype=object)[who % len(edges)]
    d.add("flow", flow_rows(d.day, us, sip, dip, ephemeral(rng, n), p["dport"],
                            rng.integers(3, 7, n), rng.integers(400, 900, n),
                            opkt=rng.integers(3, 6, n), obyt=rng.integers(300, 700, n),
                            tdur=rng.uniform(0.05, 0.5, n), das=w.asn_of(edges[0])))  # fmt: skip
    name = W.HEARTBEAT_HOSTS[w.seed % len(W.HEARTBEAT_HOSTS)]
    look, lwho = _periodic(rng, n_clients, 3600, jitter=0.1)
    d.add("dns", dns_rows(d.day, look, w.ips.take(clients[lwho]).to_numpy(zero_copy_only=False),
                          name, 1, 0, "|".join(edges), rng.integers(120, 160, len(look)), rng))  # fmt: skip
    d.record("cdn_heartbeat", "flow", f"{n_clients} clients' sync app keeps in touch with {name} "
             f"({len(edges)} edges) every {interval:.0f} s", us, ips=edges, query_names=[name],
             hosts=[str(w.ip_list[int(i)]) for i in clients], benign=True)  # fmt: skip


_POLL = {161: ("UDP", (1, 2), (80, 300), (1, 2), (100, 1500)),
         80: ("TCP", (5, 9), (400, 900), (5, 9), (1000, 6000)),
         443: ("TCP", (8, 14), (900, 2000), (8, 14), (3000, 9000)),
         5985: ("TCP", (10, 20), (2000, 6000), (10, 20), (2000, 8000)),
         22: ("TCP", (20, 40), (3000, 6000), (20, 40), (3000, 8000))}  # fmt: skip


def monitoring_polls(d: Day) -> None:
    p, w, rng = d.plan["monitoring_polls"], d.w, d.rng
    ports, interval = list(p["ports"]), p["interval_s"]
    limit = d.cap("flow", p["max_share"], 20)
    while 86400 / interval * len(ports) > limit / 4:
        interval *= 2
    n_targets = _fit(p["targets"], 86400 / interval * len(ports), limit)
    pool = np.r_[w.servers, w.dmz]
    pool = pool[[w.ip_list[int(i)] != W.MONITORING for i in pool]]
    targets = [w.ip_list[int(i)] for i in
               np.random.default_rng([w.seed, 6]).choice(pool, min(n_targets, len(pool)), replace=False)]  # fmt: skip
    us, who = _periodic(rng, len(targets) * len(ports), interval, jitter=0.005)
    dst = np.array(targets, dtype=object)[who // len(ports)]
    dport = np.array(ports)[who % len(ports)]
    rows = []
    for port in ports:
        mine = dport == port
        proto, ipk, ib, opk, ob = _POLL[port]
        k = int(mine.sum())
        rows.append(flow_rows(d.day, us[mine], W.MONITORING, dst[mine], ephemeral(rng, k), port,
                              rng.integers(*ipk, k), rng.integers(*ib, k), opkt=rng.integers(*opk, k),
                              obyt=rng.integers(*ob, k), proto=proto,
                              flag=".AP.SF" if proto == "TCP" else "......",
                              tdur=rng.uniform(0.01, 0.8, k)))  # fmt: skip
    d.add("flow", *rows)
    d.record("monitoring_polls", "flow", f"the monitoring server {W.MONITORING} polls "
             f"{len(targets)} hosts on {ports} every {interval} s", us, ips=[W.MONITORING],
             hosts=[W.MONITORING, *targets], benign=True)  # fmt: skip


def internet_scanners(d: Day) -> None:
    p, w, rng = d.plan["internet_scanners"], d.w, d.rng
    dmz = [w.ip_list[int(i)] for i in w.dmz]
    limit = d.cap("flow", p["max_share"], 20)
    n_research = p["research_scanners"]
    research_rows = n_research * len(dmz) * p["research_ports"]
    if research_rows > limit // 2:
        n_research, ports = 1, max(5, (limit // 2) // len(dmz))
    else:
        ports = p["research_ports"]
    ports = min(ports, len(NMAP_TOP_PORTS))
    n_noise = _fit(p["sources"], p["probes_per_source"], limit - n_research * len(dmz) * ports)
    sources = w.fresh_ips(rng, n_noise + n_research)
    noise = np.repeat(np.arange(n_noise), p["probes_per_source"])
    sip = [np.array(sources, dtype=object)[noise]]
    dip = [np.array(dmz, dtype=object)[rng.integers(0, len(dmz), len(noise))]]
    dport = [rng.choice([80, 443, 22, 23, 8080, 3389, 445, 21], len(noise),
                        p=[0.25, 0.25, 0.15, 0.1, 0.1, 0.07, 0.05, 0.03])]  # fmt: skip
    us = [rng.integers(0, US_PER_DAY, len(noise))]
    for src in sources[n_noise:]:  # research scanners: every exposed host, many ports, in an hour
        grid = np.array(NMAP_TOP_PORTS[:ports])
        sip.append(np.full(len(dmz) * ports, src, dtype=object))
        dip.append(np.repeat(np.array(dmz, dtype=object), ports))
        dport.append(np.tile(grid, len(dmz)))
        us.append(
            int(rng.integers(0, US_PER_DAY - US_PER_HOUR))
            + rng.integers(0, US_PER_HOUR, len(dmz) * ports)
        )
    sip, dip, dport, us = (np.concatenate(x) for x in (sip, dip, dport, us))
    n = len(us)
    web = np.isin(dport, [80, 443])  # the web servers answer SYN-ACK, the firewall drops the rest
    d.add("flow", flow_rows(d.day, us, sip, dip, rng.integers(30000, 65000, n), dport, 1,
                            rng.choice([40, 44, 60], n), flag="....S.", opkt=web.astype(np.int64),
                            obyt=web.astype(np.int64) * 44, rip=W.ROUTERS[2],
                            sas=_asns(w, sip),
                            internal_src=False))  # fmt: skip
    d.record("internet_scanners", "flow", f"{n_noise} Internet scanners probe the DMZ a few times "
             f"each; {len(sources) - n_noise} research scanner(s) sweep {ports} ports of every "
             "exposed host", us, ips=sources, hosts=dmz, benign=True)  # fmt: skip


def _asns(w, ips: np.ndarray) -> np.ndarray:
    unique, inverse = np.unique(ips.astype(str), return_inverse=True)
    return np.array([w.asn_of(ip) for ip in unique], dtype=np.int64)[inverse]


def dnsbl_lookups(d: Day) -> None:
    p, rng = d.plan["dnsbl_lookups"], d.rng
    n = int(min(p["lookups"], d.cap("dns", p["max_share"], 20)))
    octets = rng.integers(1, 255, (n, 4))
    names = [f"{a}.{b}.{c}.{e}.{p['zone']}" for a, b, c, e in octets.tolist()]
    listed = rng.random(n) < p["listed_share"]
    us = np.sort(rng.integers(0, US_PER_DAY, n))
    answer = np.where(listed, "127.0.0." + np.char.mod("%d", rng.integers(2, 12, n)), "").astype(
        object
    )
    frame_len = np.array([len(x) for x in names]) + 60 + np.where(listed, 16, 70)
    d.add("dns", dns_rows(d.day, us, W.MAIL_RELAY, names, 1, np.where(listed, 0, 3), answer,
                          frame_len, rng))  # fmt: skip
    d.record("dnsbl_lookups", "dns", f"the mail relay checks {n} connecting IPs against "
             f"{p['zone']}; {int((~listed).sum())} NXDOMAIN (not listed)", us, query_names=names,
             hosts=[W.MAIL_RELAY], benign=True)  # fmt: skip


def av_reputation(d: Day) -> None:
    p, w, rng = d.plan["av_reputation"], d.w, d.rng
    n = int(min(p["lookups"], d.cap("dns", p["max_share"], 20)))
    clients = np.random.default_rng([w.seed, 8]).choice(
        w.clients, min(p["clients"], len(w.clients)), replace=False
    )
    who = clients[rng.integers(0, len(clients), n)]
    hashes = random_labels(rng, np.full(n, 40), "0123456789abcdef")
    names = [f"{h[:32]}.{h[32:]}.{p['domain']}" for h in hashes]
    us = np.sort(rng.integers(0, US_PER_DAY, n))
    frame_len = np.array([len(x) for x in names]) + 76
    d.add("dns", dns_rows(d.day, us, w.ips.take(who).to_numpy(zero_copy_only=False), names, 1, 0,
                          "127.0.0.1", frame_len, rng))  # fmt: skip
    d.record("av_reputation", "dns", f"{len(clients)} endpoints ask {p['domain']} about {n} file "
             "hashes", us, query_names=names, hosts=[w.ip_list[int(i)] for i in clients],
             benign=True)  # fmt: skip
