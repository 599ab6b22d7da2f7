"""The background traffic of a demo day: ordinary flows, DNS lookups and web requests of the
demo organisation, vectorised (numpy/Arrow) per hour."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from spot_lab.demo import world_data as W
from spot_lab.demo.rows import ephemeral, make_rows
from spot_lab.demo.world import World, weights, zipf


def _bulk_flows(w: World, rng: np.random.Generator, day: dt.date, us: np.ndarray):
    n = len(us)
    kind = rng.choice(5, n, p=[0.60, 0.13, 0.15, 0.08, 0.04])  # out, reply, internal, in, icmp
    client = rng.choice(w.clients, n, p=w.client_p)
    public = rng.choice(w.public, n, p=w.public_p)
    eph = ephemeral(rng, n)
    out = rng.choice(len(W.OUTBOUND_SERVICES), n, p=_weights_of(W.OUTBOUND_SERVICES))
    out_port = np.array([s[0] for s in W.OUTBOUND_SERVICES])[out]
    out_tcp = np.array([s[1] == "TCP" for s in W.OUTBOUND_SERVICES])[out]
    inn = rng.choice(len(W.INTERNAL_SERVICES), n, p=_weights_of(W.INTERNAL_SERVICES))
    in_port = np.array([s[0] for s in W.INTERNAL_SERVICES])[inn]
    in_tcp = np.array([s[1] == "TCP" for s in W.INTERNAL_SERVICES])[inn]
    server = np.where(in_port == 53, rng.choice(w.resolvers, n), rng.choice(w.servers, n))
    visitor = rng.choice(w.public, n)
    dmz = rng.choice(w.dmz, n)
    web = np.where(rng.random(n) < 0.8, 443, 80)
    icmp_codes, icmp_p = weights(W.ICMP_CODES)
    icmp = rng.choice(icmp_codes.astype(np.int64), n, p=icmp_p)

    sip = np.select([kind == 1, kind == 3], [public, visitor], client)
    dip = np.select([kind == 1, kind == 2, kind == 3], [client, server, dmz], public)
    sport = np.select([kind == 1, kind == 4], [out_port, 0], eph)
    dport = np.select([kind == 0, kind == 1, kind == 2, kind == 3], [out_port, eph, in_port, web],
                      icmp)  # fmt: skip
    tcp = np.select([kind <= 1, kind == 2, kind == 3], [out_tcp, in_tcp, True], False)
    proto = np.where(kind == 4, "ICMP", np.where(tcp, "TCP", "UDP")).astype(object)

    flag_values, flag_p = weights(W.TCP_FLAGS)
    flag = np.where(tcp, rng.choice(flag_values, n, p=flag_p), "......").astype(object)
    syn_only = (flag == "....S.") | (flag == ".A.R..")
    # habitual sizes per service (lognormal around its median) plus a heavy tail of bulk transfers
    out_size = np.array([s[3:5] for s in W.OUTBOUND_SERVICES], dtype=float)[out]
    in_size = np.array([s[3:5] for s in W.INTERNAL_SERVICES], dtype=float)[inn]
    size = np.select([kind[:, None] <= 1, kind[:, None] == 2], [out_size, in_size], [10.0, 500.0])
    bulk = np.where(rng.random(n) < 0.02, rng.lognormal(3.0, 1.5, n), 1.0)
    ipkt = np.clip(np.ceil(size[:, 0] * rng.lognormal(0, 0.6, n) * bulk), 1, 100_000)
    ipkt = np.where(syn_only | (kind == 4), rng.integers(1, 3, n), ipkt).astype(np.int64)
    ipkt = np.where(size[:, 0] == 1, 1, ipkt)  # DNS and NTP: one datagram
    per_packet = np.clip(
        size[:, 1] * rng.lognormal(0, 0.25, n) * np.where(kind == 1, 1.5, 1), 40, 1500
    )
    per_packet = np.where(syn_only, rng.choice([40, 44, 52, 60], n), per_packet)
    per_packet = np.where(kind == 4, rng.integers(64, 85, n), per_packet)
    ibyt = (ipkt * per_packet).astype(np.int64)
    both = rng.random(n) < 0.3
    opkt = np.where(both, np.maximum(1, (ipkt * rng.uniform(0.4, 1.2, n)).astype(np.int64)), 0)
    obyt = (opkt * np.clip(rng.lognormal(6.0, 0.8, n), 40, 1500)).astype(np.int64)
    tdur = np.where(ipkt == 1, 0.0, np.clip(ipkt * rng.lognormal(-2.5, 0.8, n), 0.001, 120.0))
    tos = rng.choice([0, 8, 32, 46, 184], n, p=[0.9, 0.03, 0.03, 0.02, 0.02])
    internal_src = sip < w.n_internal
    rip = np.where(internal_src, w.router[sip], w.router[dip])
    return make_rows(
        "flow", day, us,
        tdur=np.round(tdur, 3).astype(np.float32), sip=w.ips.take(pa.array(sip)),
        dip=w.ips.take(pa.array(dip)), sport=sport, dport=dport, proto=proto, flag=flag, fwd=0,
        stos=tos, ipkt=ipkt, ibyt=ibyt, opkt=opkt, obyt=obyt,
        input=rng.integers(1, 13, n), output=rng.integers(1, 13, n),
        sas=w.asn[sip], das=w.asn[dip], dtos=np.where(rng.random(n) < 0.95, 0, tos),
        dir=internal_src.astype(np.int32), rip=rip,
    )  # fmt: skip


def _weights_of(services: tuple) -> np.ndarray:
    p = np.array([s[2] for s in services], dtype=float)  # (port, proto, weight, ...)
    return p / p.sum()


def _bulk_dns(w: World, rng: np.random.Generator, day: dt.date, us: np.ndarray):
    n = len(us)
    group = rng.choice(4, n, p=[0.58, 0.27, 0.10, 0.05])  # popular, tail, internal, PTR
    popular = rng.choice(w.n_popular_names, n, p=zipf(w.n_popular_names, 1.0))
    tail = w.n_popular_names + rng.choice(
        w.n_web_names - w.n_popular_names, n, p=zipf(w.n_web_names - w.n_popular_names, 0.7)
    )
    internal = w.n_web_names + rng.integers(0, w.n_internal_names, n)
    ptr = w.n_web_names + w.n_internal_names + rng.integers(0, 300, n)
    name = np.select([group == 0, group == 1, group == 2], [popular, tail, internal], ptr)
    client = rng.choice(w.clients, n, p=w.client_p)
    server = rng.random(n) < 0.1
    client = np.where(server, rng.choice(w.servers, n), client)
    # workstations ask for A/AAAA; mail relays and domain controllers also MX, TXT, ANY
    qtype = np.where(
        server,
        rng.choice([1, 28, 5, 15, 16, 255], n, p=[0.6, 0.2, 0.05, 0.08, 0.05, 0.02]),
        rng.choice([1, 28, 5, 16], n, p=[0.7, 0.28, 0.015, 0.005]),
    )
    srv = np.array([s.startswith("_") for s in w.names])[name]
    qtype = np.select([group == 3, srv], [12, 33], qtype)
    rcode = np.select(
        [group == 0, group == 1, group == 2],
        [rng.choice([0, 2], n, p=[0.995, 0.005]),
         rng.choice([0, 3, 2, 5], n, p=[0.955, 0.035, 0.008, 0.002]),
         rng.choice([0, 3], n, p=[0.97, 0.03])],
        rng.choice([0, 3], n, p=[0.75, 0.25]),
    )  # fmt: skip
    answer = np.where((qtype == 1) & (rcode == 0), w.answer[name], "").astype(object)
    n_answers = np.where(answer == "", 0, np.char.count(answer.astype(str), "|") + 1)
    extra = np.select([qtype == 28, qtype == 12, qtype == 16, rcode == 3],
                      [28, 40, rng.integers(60, 200, n), rng.integers(60, 95, n)], 0)  # fmt: skip
    frame_len = 60 + w.name_len[name] + 16 * n_answers + extra + rng.choice([0, 11], n)
    return make_rows(
        "dns", day, us, frame_len=frame_len, ip_dst=w.ips.take(pa.array(client)),
        ip_src=w.ips.take(pa.array(rng.choice(w.resolvers, n))), dns_qry_name=w.names[name],
        dns_qry_class="0x00000001", dns_qry_type=qtype, dns_qry_rcode=rcode, dns_a=answer,
    )  # fmt: skip


def _bulk_proxy(w: World, rng: np.random.Generator, day: dt.date, us: np.ndarray):
    n = len(us)
    host = np.where(
        rng.random(n) < 0.7,
        rng.choice(w.n_popular_names, n, p=zipf(w.n_popular_names, 1.0)),
        w.n_popular_names + rng.integers(0, w.n_web_names - w.n_popular_names, n),
    )
    # each site has its usual pages: a host's requests go to a few paths of its own
    usual = rng.choice(4, n, p=[0.55, 0.25, 0.12, 0.08])
    path_i = (host * 7 + usual * 5) % len(W.PATHS)
    paths = np.array([p for p, _, _ in W.PATHS], dtype=object)
    ext = np.array([e for _, e, _ in W.PATHS], dtype=object)[path_i]
    ctype = np.array([c for _, _, c in W.PATHS], dtype=object)[path_i]
    query = np.where(rng.random(n) < 0.15, np.array(W.QUERIES, dtype=object)[host % 8], "-")
    methods, method_p = weights(W.METHODS)
    method = rng.choice(methods, n, p=method_p)
    codes, code_p = weights(W.RESPCODES)
    code = rng.choice(codes, n, p=code_p)
    connect = method == "CONNECT"
    path = np.where(connect, "/", paths[path_i]).astype(object)
    query = np.where(connect, "-", query).astype(object)
    ext = np.where(connect, "-", ext).astype(object)
    empty = np.isin(code, ["204", "304"]) | connect
    ctype = np.where(empty, "-", np.where(np.isin(code, ["200"]), ctype, "text/html")).astype(
        object
    )
    port = np.where(connect, "443", rng.choice(["443", "80", "8080"], n, p=[0.8, 0.18, 0.02]))
    scheme = np.where(connect, "tcp", np.where(port == "443", "https", "http")).astype(object)
    ci = rng.choice(len(w.clients), n, p=w.client_p)
    agents = np.array(W.COMMON_AGENTS, dtype=object)
    agent = np.select(
        [rng.random(n) < 0.95, rng.random(n) < 0.9],
        [agents[w.client_agent[ci]], rng.choice(agents, n)],
        rng.choice(np.array(W.RARE_AGENTS, dtype=object), n),
    )
    denied = np.isin(code, ["403", "407"])
    scbytes = np.where(empty, rng.integers(150, 450, n), rng.lognormal(8.5, 1.6, n).clip(200, 2e8))
    post = np.isin(method, ["POST", "PUT"])
    csbytes = np.where(post, rng.lognormal(7.5, 1.3, n).clip(300, 5e6), rng.integers(250, 1400, n))
    referer = np.where(
        rng.random(n) < 0.45, "-",
        np.where(rng.random(n) < 0.6, w.referer[host], "https://www.google.com/"),
    ).astype(object)  # fmt: skip
    return make_rows(
        "proxy", day, us,
        clientip=w.ips.take(pa.array(w.clients[ci])), host=w.names[host], reqmethod=method,
        useragent=agent, resconttype=ctype,
        duration=rng.lognormal(4.5, 1.3, n).clip(1, 120_000).astype(np.int32),
        username=np.where(code == "407", "-", w.username[ci]).astype(object), authgroup="-",
        exceptionid=np.select([code == "403", code == "407"],
                              ["policy_denied", "authentication_required"], "-").astype(object),
        filterresult=np.where(denied, "DENIED",
                              rng.choice(["OBSERVED", "PROXIED"], n, p=[0.9, 0.1])).astype(object),
        webcat=w.webcat[host], referer=referer, respcode=code,
        action=np.select([denied, code == "500"], ["DENIED", "SERVER_ERROR"],
                         "ALLOWED").astype(object),
        urischeme=scheme, uriport=port, uripath=path, uriquery=query, uriextension=ext,
        serverip=rng.choice(np.array(W.PROXIES, dtype=object), n),
        scbytes=scbytes.astype(np.int32), csbytes=csbytes.astype(np.int32), virusid="-",
        bcappname=w.app[host], bcappoper="-",
    )  # fmt: skip


BULK = {"flow": _bulk_flows, "dns": _bulk_dns, "proxy": _bulk_proxy}
# nmap's most frequently open TCP ports (nmap-services), what a slow scan probes first
TOP_PORTS = (21, 22, 23, 25, 53, 80, 88, 110, 111, 135, 139, 143, 389, 443, 445, 465, 587, 636,
             993, 995, 1025, 1433, 1521, 1723, 2049, 3306, 3389, 5432, 5900, 5985, 6379, 8000,
             8080, 8443, 8888, 9200, 27017)  # fmt: skip
# nmap's most frequently open TCP ports in nmap-services order: what --top-ports N probes
NMAP_TOP_PORTS = (80, 23, 443, 21, 22, 25, 3389, 110, 445, 139, 143, 53, 135, 3306, 8080, 1723,
                  111, 995, 993, 5900, 1025, 587, 8888, 199, 1720, 465, 548, 113, 81, 6001,
                  10000, 514, 5060, 179, 1026, 2000, 8443)  # fmt: skip
