"""The proxy searcher: Spot's expanded search for a URI or a client IP (reference 2.5)."""

from __future__ import annotations

import math

import pandas as pd

from spot_lab import queries
from spot_lab.engines.days import span_text
from spot_lab.investigation import frames as F

_UNCATEGORISED = ["-", "", "Uncategorized", "Uncategorised", "unknown"]


def search(run) -> None:
    r, uri = run.report, run.target.kind in ("uri", "host")
    clients = run.df("proxy_by_client")
    if clients.empty:
        r.mark_empty(f"no proxy requests for {r.anchor} {span_text(r.first_day, r.last_day)}")
        return
    r.clients = run.enrich(clients, "client")
    r.totals = run.counts("proxy_totals")
    related = queries.sql("investigation", {"uri": "related_proxy_uri", "host": "anchor_proxy_host",
                                            "ip": "anchor_proxy_client"}[run.target.kind])  # fmt: skip
    r.requests = run.df("proxy_requests", related=related)
    r.uris = run.df("proxy_by_uri")
    breakdown = run.df("proxy_breakdown")
    r.methods = F.share(breakdown, "reqmethod", "requests")
    r.content_types = F.share(breakdown, "resconttype", "requests")
    r.respcodes = F.share(breakdown, "respcode", "requests")
    r.categories = F.share(breakdown, "webcat", "requests")
    r.agents = F.share(breakdown, "useragent", "requests")
    r.protocols = r.methods
    if uri:
        r.referers = run.df("proxy_referers")
        r.referred = run.df("proxy_referred")
        lanes, lane_col = r.clients["client"].head(F.MAX_LANES).tolist(), "clientip"
    else:
        lanes, lane_col = F.busiest_hosts(r.uris).head(F.MAX_LANES).tolist(), "host"
    r.top_peers = lanes
    timeline = run.df("proxy_timeline", {"lanes": lanes}, lane=lane_col)
    if not timeline.empty:
        timeline["minute"] = pd.to_datetime(timeline["minute"], format="%Y-%m-%d %H:%M", utc=True)
    r.timeline = timeline
    profile = run.df("proxy_profile")
    profile["day"] = pd.to_datetime(profile["p_date"]).dt.date
    run.profile(profile)
    hosts = F.distinct_ips(r.uris["host"])
    r.where = (
        F.where_table(run.enrich(pd.DataFrame({"ip": hosts}), "ip"), "ip")
        if hosts
        else pd.DataFrame()
    )
    r.endpoints = F.endpoints(r.clients, "client", "requests", hosts)
    run.patient_zero(r.clients, "client", "first_contact")
    _evidence(run, breakdown)


def _requests(breakdown: pd.DataFrame, rows: pd.Series) -> int:
    return int(breakdown.loc[rows, "requests"].sum())


def _evidence(run, breakdown: pd.DataFrame) -> None:
    r, ev = run.report, run.evidence
    total = int(breakdown["requests"].sum())
    posts = _requests(breakdown, breakdown["reqmethod"] == "POST")
    ev.add("posts", posts=posts, total=total, share=posts / total)
    sent, received = int(breakdown["bytes_sent"].sum()), int(breakdown["bytes_received"].sum())
    ratio = sent / received if received else math.inf if sent else 0.0
    ev.add("byte_ratio", ratio=ratio, sent=sent, received=received)
    entropy = F.entropies(pd.Series(r.uris["fulluri"].str.split("/", n=1).str[1].fillna("")))
    ev.add("uri_entropy", top=float(entropy.max()) if len(entropy) else 0.0, uris=len(r.uris))
    hosts = F.busiest_hosts(r.uris)
    if len(hosts):
        host = str(hosts.iloc[0])
        usage = run.df("proxy_host_usage", {"host": host})
        ev.add("rare_host", host=host, clients=int(usage["clients"].iloc[0]),
               requests=int(usage["requests"].iloc[0]))  # fmt: skip
    if run.target.kind in ("uri", "host") and len(r.referred):
        pattern = ev.param("downloads", "risky_files")
        risky = r.referred[r.referred["fulluri"].str.lower().str.contains(pattern)]
        ev.add("downloads", referred=len(r.referred), risky=len(risky),
               examples=", ".join(risky["fulluri"].head(3)))  # fmt: skip
    errors = _requests(breakdown, breakdown["respcode"].astype(str).str[:1].isin(["4", "5"]))
    ev.rate("errors", errors, total)
    uncategorised = _requests(breakdown, breakdown["webcat"].fillna("-").isin(_UNCATEGORISED))
    ev.rate("uncategorised", uncategorised, total)
    ev.add("agents", agents=len(r.agents))
