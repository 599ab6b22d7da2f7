"""Attacks seen in the DNS and proxy data, one function per scenario (scenarios.yaml)."""

from __future__ import annotations

import posixpath
import string

import numpy as np

from spot_lab.demo import world_data as W
from spot_lab.demo.kit import US, Day, beacon_times, random_labels, window
from spot_lab.demo.rows import US_PER_DAY, US_PER_HOUR, dns_rows, ephemeral, flow_rows, proxy_rows

# extra response bytes by query type: TXT/NULL carry the payload, CNAME/MX a name, A/AAAA an
# address; an NXDOMAIN carries the zone's SOA
_ANSWER_BYTES = {16: (100, 900), 10: (100, 1000), 5: (40, 200), 15: (40, 200), 1: (16, 17),
                 28: (28, 29)}  # fmt: skip


def dns_tunnelling(d: Day) -> None:
    """A DNS tunnel's queries: encoded payload labels under one rare domain, with the tool's
    alphabet and record types, for hours; the client keeps resolving its usual names."""
    p, w, rng = d.plan["dns_tunnelling"], d.w, d.rng
    client, domain, tool = w.actor["tunnel"], w.actor_name["tunnel"], p["tool"]
    n = int(min(p["queries"], d.cap("dns", p["max_share"], 40)))
    labels = min(p["labels"], (250 - len(domain)) // (p["label_length"] + 1))
    length = rng.integers(max(8, p["label_length"] // 2), p["label_length"] + 1, (n, labels))
    parts = random_labels(rng, length.ravel(), tool["alphabet"])
    names = list(dict.fromkeys(
        ".".join(parts[i * labels : (i + 1) * labels]) + "." + domain for i in range(n)))  # fmt: skip
    n = len(names)
    start, end = window(p["start_hour"], p["active_hours"])
    us = np.sort(rng.integers(start, end, n))
    qtypes = np.array(tool["qtypes"])
    qtype = qtypes[np.minimum(rng.geometric(0.6, n) - 1, len(qtypes) - 1)]
    rcode = np.where(np.isin(qtype, [1, 28]) & (tool["name"] == "exfil-base32"), 3, 0)
    extra = np.array([rng.integers(*_ANSWER_BYTES[int(t)]) for t in qtype])
    frame_len = np.array([len(x) for x in names]) + 60 + np.where(rcode == 3, 60, extra)
    d.add("dns", dns_rows(d.day, us, client, names, qtype, rcode, "", frame_len, rng))
    d.record("dns_tunnelling", "dns",
             f"{client} sends {n:,} {tool['name']}-style queries (labels up to "
             f"{p['label_length']} characters, types {sorted(set(qtype.tolist()))}) under {domain}",
             us, ips=[client], query_names=names, hosts=[client], compromised=[client])  # fmt: skip


def _dga_names(d: Day, family: dict, k: int) -> list[str]:
    rng = d.rng
    tlds = np.array(family["tlds"], dtype=object)[rng.integers(0, len(family["tlds"]), k)]
    if family["name"] == "wordlist":  # two dictionary words, as Suppobox and Matsnu join them
        words = np.array(W.DGA_WORDS, dtype=object)
        first = rng.integers(0, len(words), k)
        firsts, seconds = words[first], words[(first + rng.integers(1, len(words), k)) % len(words)]
        labels = [a + b for a, b in zip(firsts, seconds, strict=True)]
    else:
        lengths = rng.integers(family["min"], family["max"] + 1, k)
        labels = random_labels(rng, lengths, family["alphabet"])
    names = [f"{x}.{t}" for x, t in zip(labels, tlds, strict=True)]
    return [n for n in dict.fromkeys(names) if n not in d.w.taken]


def dga_nxdomain(d: Day) -> None:
    """A bot trying batches of generated domains every few minutes to hours; nearly all
    NXDOMAIN, and on some days one answers."""
    p, w, rng = d.plan["dga_nxdomain"], d.w, d.rng
    client = w.actor["dga"]
    attempts = p["attempts"]
    k = int(min(attempts * p["batch"], d.cap("dns", p["max_share"], 12)))
    batch = max(1, k // attempts)
    names = _dga_names(d, p["family"], batch * attempts)
    k = len(names)
    tries = p["start_hour"] * US_PER_HOUR + np.cumsum(
        rng.uniform(0.8, 1.2, attempts) * p["retry_minutes"] * 60 * US
    )
    us = np.repeat(tries, batch)[:k].astype(np.int64) + rng.integers(0, 3 * US, k)
    order = np.argsort(us, kind="stable")
    us, names = np.minimum(us[order], US_PER_DAY - 1), [names[i] for i in order]
    rcode = np.full(k, 3)
    if p["resolves"]:
        rcode[-1] = 0
    answer = np.where(rcode == 0, w.actor_ip["dga"], "").astype(object)
    soa = np.array([40 + len(x.rsplit(".", 1)[1]) * 4 for x in names])  # the TLD's SOA record
    frame_len = np.array([len(x) for x in names]) + 60 + np.where(rcode == 3, soa, 16)
    d.add("dns", dns_rows(d.day, us, client, names, 1, rcode, answer, frame_len, rng))
    d.record("dga_nxdomain", "dns",
             f"{client} looks up {k} {p['family']['name']}-style generated names in {attempts} "
             f"batches every ~{p['retry_minutes']:.0f} min, {int((rcode == 3).sum())} NXDOMAIN",
             us, ips=[client], query_names=names, hosts=[client], compromised=[client])  # fmt: skip


def data_exfiltration_http(d: Day) -> None:
    """The exfiltrating host also uploads large request bodies to its rare host through the
    proxy, with a command-line agent, in the flow scenario's window."""
    p, w, rng = d.plan["data_exfiltration_http"], d.w, d.rng
    client, host, ip = w.actor["exfil"], w.actor_name["exfil"], w.actor_ip["exfil"]
    flow = d.plan["data_exfiltration"]
    k = int(min(p["requests"], d.cap("proxy", p["max_share"], 5)))
    start, end = window(flow["start_hour"], max(flow["span_hours"], 1.0))
    us = np.sort(rng.integers(start, end, k))
    sid = "".join(rng.choice(list("0123456789abcdef"), 32))
    queries = [f"?sid={sid}&part={i}" for i in range(k)]
    body = (p["request_mb"] * 1e6 * rng.uniform(0.8, 1.2, k)).astype(np.int64)
    rows = proxy_rows(d.day, us, client, host, p["method"], "/api/v2/upload", queries,
                      agent=p["agent"], ctype="application/json",
                      scbytes=rng.integers(300, 600, k), csbytes=body,
                      user=d.people["user_of"][client], rng=rng)  # fmt: skip
    d.add("proxy", rows)
    d.add("dns", dns_rows(d.day, np.maximum(0, us[:3] - US), client, host, 1, 0, ip,
                          np.full(min(3, k), 104), rng))  # fmt: skip
    d.record("data_exfiltration_http", "proxy",
             f"{client} sends {k} {p['method']} uploads ({body.sum() / 1e6:,.0f} MB) to the "
             f"uncategorised host {host} with {p['agent'].split('/')[0]}", us, ips=[ip],
             query_names=[host], uris=rows[0].column("fulluri").to_pylist(), hosts=[client],
             compromised=[client])  # fmt: skip


def phishing(d: Day) -> None:
    """Webmail -> phishing page (several users, in order) -> credential POST -> a payload
    whose referer is the phishing page (every other victim)."""
    p, w, rng = d.plan["phishing"], d.w, d.rng
    busy = [w.ip_list[int(i)] for i in w.clients[np.argsort(-w.client_p, kind="stable")[:60]]]
    pool = [c for c in busy if c not in w.actor_clients]
    victims = list(rng.choice(pool, p["victims"], replace=False))
    t0 = int(p["start_hour"] * US_PER_HOUR)
    gaps = rng.uniform(0.5, 1.5, len(victims) - 1) * p["gap_minutes"] * 60 * US
    offsets = np.r_[0, np.cumsum(gaps)]
    room = US_PER_DAY - 120 * US - t0  # the last victim still clicks today: squeeze, not clip
    if offsets[-1] > room:  # (clipping gave several victims the same second, in no order)
        offsets = offsets * room / offsets[-1]
    visit = (t0 + offsets).astype(np.int64)
    host, path = w.actor_name["phishing"], p["path"]
    token = random_labels(rng, [32], string.ascii_letters + string.digits + "-_")[0]
    doc = f"INV-{int(rng.integers(10000, 99999))}"
    query = f"?doc={doc}&src=mail&token={token}"
    post_path = posixpath.dirname(path) + "/verify" + posixpath.splitext(path)[1]
    payload_path = f"/files/{doc}.{p['payload_ext']}"
    uris = [host + path + query, host + post_path, host + payload_path]
    chain = []
    for i, (client, at) in enumerate(zip(victims, visit.tolist(), strict=True)):
        chain += _phishing_visit(d, client, at, uris, query, post_path, payload_path, i % 2 == 0)
    d.record("phishing", "proxy",
             f"{len(victims)} user(s) follow a {p['webmail']} link to {uris[0]}, post credentials "
             f"and some download a payload; patient zero is {victims[0]}", np.array(chain),
             ips=[w.actor_ip["phishing"]], query_names=[host], uris=uris, hosts=victims,
             compromised=victims, patient_zero=victims[0])  # fmt: skip


def _phishing_visit(d: Day, client, at, uris, query, post_path, payload_path, download) -> list:
    p, w, rng = d.plan["phishing"], d.w, d.rng
    host, path, ip = w.actor_name["phishing"], d.plan["phishing"]["path"], w.actor_ip["phishing"]
    mail = f"https://{p['webmail']}/mail/inbox/id/AAQkAD{rng.integers(10**9, 10**10)}"
    ext = posixpath.splitext(path)[1].lstrip(".") or "-"
    steps = [  # (offset s, host, method, path, query, referer, ctype, ext, scbytes, csbytes)
        (-40, p["webmail"], "GET", "/mail/inbox", "-", "-", "text/html", "-", 48_000, 900),
        (0, host, "GET", path, query, mail, "text/html", ext, 14_500, 700),
        (35, host, "POST", post_path, "-", "https://" + uris[0], "text/html", ext, 2_100, 1_300),
    ]
    if download:
        steps.append((50, host, "GET", payload_path, "-", "https://" + uris[0],
                      "application/octet-stream", d.plan["phishing"]["payload_ext"],
                      2_400_000, 650))  # fmt: skip
    agent, user = d.people["agent_of"][client], d.people["user_of"][client]
    times = []
    for off, site, method, pth, q, ref, ctype, e, sc, cs in steps:
        one = np.array([at + off * US])
        d.add("proxy", proxy_rows(d.day, one, client, site, method, pth, q, agent=agent,
                                  referer=ref, ctype=ctype, ext=e, scbytes=sc, csbytes=cs,
                                  user=user, rng=rng,
                                  webcat="Email" if site == p["webmail"] else "Uncategorized"))  # fmt: skip
        if site == host:
            times.append(int(one[0]))
    d.add("dns", dns_rows(d.day, np.array([at - US]), client, host, 1, 0, ip, np.array([98]), rng))
    d.add("flow", flow_rows(d.day, np.array([at]), client, ip, ephemeral(rng, 1), 443,
                            np.array([42]), np.array([21_000]), tdur=np.array([3.2]),
                            das=w.asn_of(ip)))  # fmt: skip
    return times


def proxy_beacon(d: Day) -> None:
    """An implant behind the web proxy: CONNECT (HTTPS) or GET/POST (HTTP) to its one rare
    host every N minutes all day, with the user's own browser agent."""
    p, w, rng = d.plan["proxy_beacon"], d.w, d.rng
    client, host = w.actor["proxy_beacon"], w.actor_name["proxy_beacon"]
    start, end = window(p["start_hour"], p["active_hours"])
    us = beacon_times(rng, start, end, p["interval_s"], p["jitter_pct"])
    n = len(us)
    agent, user = d.people["agent_of"][client], d.people["user_of"][client]
    if p["mode"] == "connect":
        rows = proxy_rows(d.day, us, client, host, "CONNECT", "/", "-", agent=agent, ctype="-",
                          scbytes=rng.integers(3000, 9000, n), csbytes=rng.integers(900, 2500, n),
                          user=user, scheme="tcp", port="443", rng=rng)  # fmt: skip
    else:
        method = np.where(rng.random(n) < 0.9, "GET", "POST").astype(object)
        rows = proxy_rows(d.day, us, client, host, method, p["uri_path"], "-", agent=agent,
                          ctype="application/javascript", ext="-",
                          scbytes=rng.integers(5000, 60000, n), csbytes=rng.integers(300, 900, n),
                          user=user, scheme="http", port="80", rng=rng)  # fmt: skip
    d.add("proxy", rows)
    d.record("proxy_beacon", "proxy",
             f"{client} reaches {host} through the proxy ({p['mode']}) {n} times, every "
             f"~{p['interval_s']:.0f} s (jitter {p['jitter_pct']:.0f}%)", us, query_names=[host],
             uris=sorted(set(rows[0].column("fulluri").to_pylist())), hosts=[client],
             compromised=[client])  # fmt: skip
