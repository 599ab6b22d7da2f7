"""The DNS searcher: Spot's expanded search for a client IP or a query name (reference 2.4)."""

from __future__ import annotations

import pandas as pd

from spot_lab import queries
from spot_lab.engines.days import span_text
from spot_lab.investigation import frames as F


def search(run) -> None:
    r = run.report
    names = run.df("dns_by_name")
    if names.empty:
        r.mark_empty(f"no DNS responses for {r.anchor} {span_text(r.first_day, r.last_day)}")
        return
    F.epoch_columns(names)
    r.totals = run.counts("dns_totals", reverse_lookup=queries.sql("dns", "reverse_lookup"))
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
            pd.DataFrame({"client": [r.anchor], "total": [r.totals["total"]]}), "client"
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
    ev, totals = run.evidence, run.report.totals
    ev.rate("nxdomain", totals["nxdomain"], totals["forward"])
    ev.rate("txt", totals["txt"], totals["total"])
    ev.add("names", unique=totals["names"], total=totals["total"])
    listed = len(names)  # the most asked names, at most 5,000: entropy is read on those
    high = int((names["entropy"] >= ev.param("entropy", "min_entropy")).sum())
    cut = "" if listed == totals["names"] else f" (the most asked of {totals['names']:,})"
    ev.add("entropy", count=high, listed=listed, cut=cut, share=high / listed if listed else 0.0,
           mean=float(names["entropy"].mean()))  # fmt: skip
    ev.add("subdomain_length", mean=float(subdomains.str.len().mean()))
