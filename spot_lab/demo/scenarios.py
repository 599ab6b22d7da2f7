"""The threats injected into a demo day, one function per scenario, and their ground truth
(`<lake>/ground_truth.json`: what each is, its anchors, hosts and time window)."""

from __future__ import annotations

import datetime as dt
import string

import numpy as np

from spot_lab.demo import world_data as W
from spot_lab.demo.rows import US_PER_DAY, US_PER_HOUR, ephemeral, make_rows
from spot_lab.demo.traffic import TOP_PORTS
from spot_lab.demo.world import World


def _stamp(day: dt.date, us: int) -> str:
    moment = dt.datetime(day.year, day.month, day.day) + dt.timedelta(microseconds=int(us))
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _truth(name, data_type, day, description, us, *, ips=(), query_names=(), uris=(),
           hosts=(), patient_zero=None) -> dict:  # fmt: skip
    return {
        "name": name,
        "data_type": data_type,
        "date": day.isoformat(),
        "description": description,
        "anchors": {"ips": list(ips), "query_names": list(query_names), "uris": list(uris)},
        "internal_hosts": list(hosts),
        "patient_zero": patient_zero,
        "window": {"start": _stamp(day, us.min()), "end": _stamp(day, us.max())},
    }


def _flow(day, us, sip, dip, sport, dport, ipkt, ibyt, *, flag=".AP.SF", opkt=0, obyt=0,
          tdur=None, sas=0, das=0, rip=W.ROUTERS[0], proto="TCP", internal_src=True):  # fmt: skip
    n = len(us)
    tdur = np.zeros(n, np.float32) if tdur is None else np.round(tdur, 3).astype(np.float32)
    return make_rows(
        "flow", day, us, tdur=tdur, sip=sip, dip=dip, sport=sport, dport=dport, proto=proto,
        flag=flag, fwd=0, stos=0, ipkt=ipkt, ibyt=ibyt, opkt=opkt, obyt=obyt, input=1, output=2,
        sas=sas, das=das, dtos=0, dir=int(internal_src), rip=rip,
    )  # fmt: skip


def _dns(day, us, client, names, qtype, rcode, answer, frame_len, rng):
    n = len(us)
    return make_rows(
        "dns", day, us, frame_len=frame_len, ip_dst=client,
        ip_src=rng.choice(np.array(W.RESOLVERS, dtype=object), n), dns_qry_name=names,
        dns_qry_class="0x00000001", dns_qry_type=qtype, dns_qry_rcode=rcode, dns_a=answer,
    )  # fmt: skip


def _proxy(day, us, client, host, method, path, query, *, agent, referer="-", code="200",
           ctype="text/html", ext="-", scbytes, csbytes, webcat="Uncategorized", user="-",
           rng):  # fmt: skip
    n = len(us)
    return make_rows(
        "proxy", day, us, clientip=client, host=host, reqmethod=method, useragent=agent,
        resconttype=ctype, duration=rng.integers(80, 2500, n).astype(np.int32), username=user,
        authgroup="-", exceptionid="-", filterresult="OBSERVED", webcat=webcat, referer=referer,
        respcode=code, action="ALLOWED", urischeme="https", uriport="443", uripath=path,
        uriquery=query, uriextension=ext, serverip=rng.choice(np.array(W.PROXIES, dtype=object), n),
        scbytes=scbytes, csbytes=csbytes, virusid="-", bcappname="-", bcappoper="-",
    )  # fmt: skip


def _random_labels(
    rng: np.random.Generator, count: int, lo: int, hi: int, alphabet: str
) -> list[str]:
    letters = np.array(list(alphabet))
    lengths = rng.integers(lo, hi + 1, count)
    return ["".join(rng.choice(letters, int(k))) for k in lengths]


def inject_scenarios(
    w: World, rng: np.random.Generator, day: dt.date, sizes: dict, parts
) -> list[dict]:
    """Add every scenario's rows to `parts` (per type) and return their ground truth."""
    truth: list[dict] = []
    user_of = dict(zip((w.ip_list[int(i)] for i in w.clients), w.username, strict=True))
    agent_of = dict(zip((w.ip_list[int(i)] for i in w.clients),
                        np.array(W.COMMON_AGENTS, dtype=object)[w.client_agent], strict=True))  # fmt: skip
    people = {"user_of": user_of, "agent_of": agent_of}
    for scenario in SCENARIOS:
        scenario(w, rng, day, sizes, parts, truth, people)
    return truth


def _c2_beaconing(w: World, rng: np.random.Generator, day: dt.date, sizes: dict, parts, truth: list,
        people: dict) -> None:  # fmt: skip
    # C2 beaconing: every ~5 min all day (a common sleep setting), near-constant small sizes,
    # unusual port, plus tasking; the host keeps its normal traffic, so the beacon stays a
    # modest share of its events (the beacon detector finds the regularity)
    start = int(rng.integers(0, 300_000_000))
    gaps = 300_000_000 + rng.normal(0, 3_000_000, 300).astype(np.int64)
    us = start + np.cumsum(gaps) - gaps[0]
    us = us[us < US_PER_DAY]
    n = len(us)
    c2_asn = w.asn_of(w.c2_ip)
    beacons = _flow(day, us, w.c2_host, w.c2_ip, ephemeral(rng, n), 995,
                    rng.integers(4, 7, n), rng.integers(310, 361, n), opkt=rng.integers(3, 6, n),
                    obyt=rng.integers(220, 261, n), tdur=rng.uniform(0.2, 0.5, n), das=c2_asn)  # fmt: skip
    task_us = np.sort(rng.choice(us, 6, replace=False)) + 2_000_000
    task_bytes = rng.integers(1_000_000, 8_000_000, 6)
    tasks = _flow(day, task_us, w.c2_host, w.c2_ip, ephemeral(rng, 6), 995, task_bytes // 1400,
                  task_bytes, opkt=task_bytes // 2800, obyt=(task_bytes // 2800) * 52,
                  tdur=rng.uniform(20, 90, 6), das=c2_asn)  # fmt: skip
    parts["flow"] += [beacons, tasks]
    dns_us = np.arange(24) * US_PER_HOUR + int(rng.integers(0, US_PER_HOUR))
    dns_us = dns_us[dns_us < US_PER_DAY]
    parts["dns"].append(_dns(day, dns_us, w.c2_host, w.c2_name, 1, 0, w.c2_ip,
                             rng.integers(100, 120, len(dns_us)), rng))  # fmt: skip
    truth.append(_truth(
        "c2_beaconing", "flow", day,
        f"{w.c2_host} beacons to {w.c2_ip}:995 every ~60 s all day with near-constant small "
        f"sizes (and resolves {w.c2_name}); a few larger tasking transfers",
        np.concatenate([us, task_us]), ips=[w.c2_ip], query_names=[w.c2_name], hosts=[w.c2_host]))  # fmt: skip


def _data_exfiltration(w: World, rng: np.random.Generator, day: dt.date, sizes: dict, parts, truth: list,
        people: dict) -> None:  # fmt: skip
    # Data exfiltration: huge outbound volume at night to a rare host, and POSTs through the proxy
    k = int(rng.integers(4, 7))  # a handful, one per night hour: rare for a busy workstation
    us = np.sort(rng.choice(np.arange(0, 6), k, replace=False) * US_PER_HOUR
                 + rng.integers(0, US_PER_HOUR, k))  # fmt: skip
    volume = rng.integers(100_000_000, 800_000_000, k)
    packets = volume // rng.integers(1200, 1461, k)
    parts["flow"].append(_flow(day, us, w.exfil_client, w.exfil_ip, ephemeral(rng, k), 443,
                               packets, volume, opkt=packets // 2, obyt=(packets // 2) * 52,
                               tdur=rng.uniform(30, 120, k), das=w.asn_of(w.exfil_ip)))  # fmt: skip
    truth.append(_truth(
        "data_exfiltration", "flow", day,
        f"{w.exfil_client} sends {volume.sum() / 1e9:.1f} GB in {k} transfers to {w.exfil_ip}:443 "
        "between 00:00 and 06:00", us, ips=[w.exfil_ip], hosts=[w.exfil_client]))  # fmt: skip
    k = int(np.clip(sizes["proxy"] // 1500, 8, 40))  # a few dozen at most, spread over the night
    us = np.sort(rng.integers(0, 6 * US_PER_HOUR, k))
    sid = "".join(rng.choice(list("0123456789abcdef"), 32))
    queries = [f"?sid={sid}&part={i}" for i in range(k)]
    posts = _proxy(day, us, w.exfil_client, w.exfil_host, "POST", "/api/v2/upload", queries,
                   agent="curl/8.4.0", ctype="application/json",
                   scbytes=rng.integers(300, 600, k), csbytes=rng.integers(2_000_000, 20_000_000, k),
                   user=people["user_of"][w.exfil_client], rng=rng)  # fmt: skip
    parts["proxy"].append(posts)
    parts["dns"].append(_dns(day, us[:3] - 1_000_000, w.exfil_client, w.exfil_host, 1, 0,
                             w.exfil_ip, np.array([104, 104, 104]), rng))  # fmt: skip
    truth.append(_truth(
        "data_exfiltration_http", "proxy", day,
        f"{w.exfil_client} POSTs {k} large uploads to the uncategorised host {w.exfil_host} "
        "at night with a command-line agent", us, ips=[w.exfil_ip], query_names=[w.exfil_host],
        uris=posts[0].column("fulluri").to_pylist(), hosts=[w.exfil_client]))  # fmt: skip


def _port_scan(w: World, rng: np.random.Generator, day: dt.date, sizes: dict, parts, truth: list,
        people: dict) -> None:  # fmt: skip
    # Inbound port scan: SYN-only single-packet flows to a few dozen ports of DMZ hosts that
    # serve normal web traffic all day (the probes are a small share of each target's flows)
    targets = [w.ip_list[int(i)] for i in rng.choice(w.dmz, 4, replace=False)]
    # a "top ports" scan (the services worth attacking, as nmap's --top-ports picks them)
    # looking for exposed Windows/directory services first (SMB, RDP, LDAP, Kerberos, RPC,
    # MSSQL, SSH, SMTP), then a sample of the other usual suspects
    first = np.array([22, 25, 88, 135, 389, 445, 1433, 3389])
    rest = np.setdiff1d(np.array(TOP_PORTS), first)
    n_more = int(np.clip(sizes["flow"] // 1000, 12, len(rest)))
    ports = np.sort(np.r_[first, rng.choice(rest, n_more, replace=False)])
    dst = np.repeat(np.array(targets, dtype=object), len(ports))
    dports = np.tile(ports, len(targets))
    k = len(dports)
    # low and slow: one target per hour, all its ports within 15 minutes
    begin = int(rng.integers(0, 24 - len(targets))) * US_PER_HOUR
    offset = np.repeat(np.arange(len(targets)) * US_PER_HOUR, len(ports))
    us = begin + offset + rng.integers(0, 15 * 60_000_000, k)
    parts["flow"].append(_flow(day, us, w.scanner_ip, dst, int(rng.integers(40000, 65000)),
                               dports, 1, rng.choice([40, 44], k), flag="....S.",
                               sas=w.asn_of(w.scanner_ip), rip=W.ROUTERS[2],
                               internal_src=False))  # fmt: skip
    truth.append(_truth(
        "port_scan", "flow", day,
        f"{w.scanner_ip} probes {len(ports)} ports on {', '.join(targets)} with SYN-only "
        "one-packet flows", us, ips=[w.scanner_ip], hosts=targets))  # fmt: skip


def _dns_tunnelling(w: World, rng: np.random.Generator, day: dt.date, sizes: dict, parts, truth: list,
        people: dict) -> None:  # fmt: skip
    # DNS tunnelling: long high-entropy labels under one rare domain, TXT queries; a few dozen
    # to ~100 from a busy workstation that keeps resolving its usual names
    k = int(np.clip(sizes["dns"] // 100, 40, 120))
    payload = _random_labels(rng, k, 30, 60, "abcdefghijklmnopqrstuvwxyz234567")
    cut = rng.integers(12, 26, k)  # dnscat-style: about half split the payload in two labels
    split = rng.random(k) < 0.5
    names = [f"{x[:c]}.{x[c:]}.{w.tunnel_domain}" if two else f"{x}.{w.tunnel_domain}"
             for x, c, two in zip(payload, cut, split, strict=True)]  # fmt: skip
    us = np.sort(rng.integers(6 * US_PER_HOUR, US_PER_DAY, k))  # the session lasts all day
    frame_len = np.array([len(x) for x in names]) + rng.integers(100, 900, k)  # TXT payloads
    parts["dns"].append(_dns(day, us, w.tunnel_client, names, 16, 0, "", frame_len, rng))
    truth.append(_truth(
        "dns_tunnelling", "dns", day,
        f"{w.tunnel_client} sends {k} TXT queries with 30-60 character random subdomains under "
        f"{w.tunnel_domain}", us, ips=[w.tunnel_client], query_names=names,
        hosts=[w.tunnel_client]))  # fmt: skip


def _dga_nxdomain(w: World, rng: np.random.Generator, day: dt.date, sizes: dict, parts, truth: list,
        people: dict) -> None:  # fmt: skip
    # DGA / NXDOMAIN: the malware tries a small batch of random names every ~40 minutes until
    # one resolves; a few dozen lookups from a busy workstation, nearly all NXDOMAIN
    batches = int(np.clip(sizes["dns"] // 1500, 12, 30))
    per_batch = rng.integers(1, 4, batches)
    k = int(per_batch.sum())
    soa = {"com": 61, "net": 61, "org": 48, "info": 44, "biz": 40, "ru": 27}  # TLD's SOA record
    tlds = rng.choice(list(soa), k)
    names = [f"{label}.{tld}" for label, tld in
             zip(_random_labels(rng, k, 10, 18, "abcdefghijklmnopqrstuvwxyz"), tlds, strict=True)]  # fmt: skip
    begin = int(rng.integers(6, 10)) * US_PER_HOUR + int(rng.integers(0, US_PER_HOUR))
    tries = begin + np.cumsum(rng.integers(30, 50, batches)) * 60_000_000
    us = np.repeat(tries, per_batch) + rng.integers(0, 3_000_000, k)
    us = np.sort(np.minimum(us, US_PER_DAY - 1))
    rcode = np.full(k, 3)
    rcode[-1] = 0  # the one registered domain of the day answers
    answer = np.where(rcode == 0, w.dga_ip, "").astype(object)
    # response: headers and question (~60 bytes + name), the TLD's SOA or the A record
    frame_len = np.array([len(x) + 60 + (soa[t] if c == 3 else 16)
                          for x, t, c in zip(names, tlds, rcode, strict=True)])  # fmt: skip
    parts["dns"].append(_dns(day, us, w.dga_client, names, 1, rcode, answer, frame_len, rng))
    truth.append(_truth(
        "dga_nxdomain", "dns", day,
        f"{w.dga_client} looks up {k} random-looking names in {batches} small batches about "
        f"every 40 minutes, {k - 1} of them NXDOMAIN", us, ips=[w.dga_client], query_names=names, hosts=[w.dga_client]))  # fmt: skip


def _phishing(w: World, rng: np.random.Generator, day: dt.date, sizes: dict, parts, truth: list,
        people: dict) -> None:  # fmt: skip
    # Phishing chain: webmail -> phishing page (several clients, in order) -> credential POST ->
    # payload download whose referer is the phishing page
    # busy users (they live in their mailbox) who open the mail at different times of the day
    busy = w.clients[np.argsort(-w.client_p, kind="stable")[:30]]
    victims = [w.ip_list[int(i)] for i in rng.choice(busy, 6, replace=False)
               if w.ip_list[int(i)] not in w.actor_clients][:4]  # fmt: skip
    t0 = int(rng.integers(8, 10)) * US_PER_HOUR + int(rng.integers(0, US_PER_HOUR))
    visit = t0 + np.cumsum(np.r_[0, rng.integers(70, 150, len(victims) - 1)]) * 60_000_000
    token = _random_labels(rng, 1, 32, 32, string.ascii_letters + string.digits + "-_")[0]
    path, query = "/auth/login.php", f"?doc=INV-88213&src=mail&token={token}"
    phish_uri = w.phish_host + path + query
    post_uri = w.phish_host + "/auth/verify.php"
    payload_uri = w.phish_host + "/files/INV-88213.iso"
    mail = [f"https://outlook.office365.com/mail/inbox/id/AAQkAD{rng.integers(10**9, 10**10)}"
            for _ in victims]  # fmt: skip
    chain_us = []
    for i, (client, at) in enumerate(zip(victims, visit, strict=True)):
        agent, user = people["agent_of"][client], people["user_of"][client]
        steps = [  # (offset s, host, method, path, query, referer, ctype, ext, scbytes, csbytes)
            (-40, "outlook.office365.com", "GET", "/mail/inbox", "-", "-", "text/html", "-",
             48_000, 900),
            (0, w.phish_host, "GET", path, query, mail[i], "text/html", "php", 14_500, 700),
            (35, w.phish_host, "POST", "/auth/verify.php", "-", "https://" + phish_uri,
             "text/html", "php", 2_100, 1_300),
        ]  # fmt: skip
        if i % 2 == 0:
            steps.append((50, w.phish_host, "GET", "/files/INV-88213.iso", "-",
                          "https://" + phish_uri, "application/octet-stream", "iso",
                          2_400_000, 650))  # fmt: skip
        for off, host, method, p, q, ref, ctype, ext, sc, cs in steps:
            one = np.array([at + off * 1_000_000])
            parts["proxy"].append(_proxy(
                day, one, client, host, method, p, q, agent=agent, referer=ref, ctype=ctype,
                ext=ext, scbytes=sc, csbytes=cs, user=user, rng=rng,
                webcat="Email" if host.startswith("outlook") else "Uncategorized"))  # fmt: skip
            if host == w.phish_host:
                chain_us.append(one[0])
        parts["dns"].append(_dns(day, np.array([at - 1_000_000]), client, w.phish_host, 1, 0,
                                 w.phish_ip, np.array([98]), rng))  # fmt: skip
        parts["flow"].append(_flow(day, np.array([at]), client, w.phish_ip, ephemeral(rng, 1),
                                   443, np.array([42]), np.array([21_000]),
                                   tdur=np.array([3.2]), das=w.asn_of(w.phish_ip)))  # fmt: skip
    truth.append(_truth(
        "phishing", "proxy", day,
        f"{len(victims)} users follow a webmail link to {phish_uri}, post credentials and "
        f"some download a payload; patient zero is {victims[0]}", np.array(chain_us),
        ips=[w.phish_ip], query_names=[w.phish_host], uris=[phish_uri, post_uri, payload_uri],
        hosts=victims, patient_zero=victims[0]))  # fmt: skip


SCENARIOS = (
    _c2_beaconing,
    _data_exfiltration,
    _port_scan,
    _dns_tunnelling,
    _dga_nxdomain,
    _phishing,
)
