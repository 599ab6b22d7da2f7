"""The DNS searcher: Spot's expanded search for a client IP or a query name (reference 2.4)."""

from __future__ import annotations

import pandas as pd

from spot_lab.engines.days import span_text
from spot_lab.investigation import frames as F


def search(run) -> None:
    r = run.report
    names = run.df("dns_by_name")
    if names.empty:
        r.mark_empty(f"no DNS responses for {r.anchor} {span_text(r.first_day, r.last_day)}")
        return
    F.epoch_columns(names)
    subdomains = F.subdomains(names["dns_qry_name"])
    names["entropy"] = F.entropies(subdomains)
    r.queries = names
    if run.target.kind == "name":
        clients = run.enrich(F.epoch_columns(run.df("dns_by_client")), "client")
        r.clients = clients
        lanes = clients["client"].head(F.MAX_LANES).tolist()
        lane_col = "ip_dst"
    else:
        r.clients = run.enrich(
            pd.DataFrame({"client": [r.anchor], "total": [int(names["total"].sum())]}), "client"
        )
        lanes = names["dns_qry_name"].head(F.MAX_LANES).tolist()
        lane_col = "dns_qry_name"
    r.top_peers = lanes
    r.timeline = F.minutes(run.df("dns_timeline", {"lanes": lanes}, lane=lane_col))
    profile = run.df("dns_profile")
    run.profile(profile)
    r.protocols = F.share(
        profile.assign(qtype=profile["qtype"].map(F.qtype_name)), "qtype", "connections"
    )
    r.rcodes = F.share(
        profile.assign(rcode=profile["rcode"].map(F.rcode_name)), "rcode", "connections"
    )
    answers = F.split_answers(names["answer"])
    r.where = (
        F.where_table(run.enrich(pd.DataFrame({"ip": answers}), "ip"), "ip")
        if answers
        else pd.DataFrame()
    )
    r.endpoints = F.endpoints(r.clients, "client", "total", answers)
    run.patient_zero(r.clients, "client", "first_seen")
    _evidence(run, names, subdomains)


def _evidence(run, names: pd.DataFrame, subdomains: pd.Series) -> None:
    ev = run.evidence
    total = int(names["total"].sum())
    forward = ~names["dns_qry_name"].str.lower().str.endswith((".in-addr.arpa", ".ip6.arpa"))
    ev.rate("nxdomain", int(names.loc[forward, "nxdomain"].sum()),
            int(names.loc[forward, "total"].sum()))  # fmt: skip
    ev.rate("txt", int(names["txt"].sum()), total)
    unique = len(names)
    ev.add("names", unique=unique, total=total)
    high = int((names["entropy"] >= ev.param("entropy", "min_entropy")).sum())
    ev.add("entropy", count=high, share=high / unique if unique else 0.0,
           mean=float(names["entropy"].mean()))  # fmt: skip
    ev.add("subdomain_length", mean=float(subdomains.str.len().mean()))
