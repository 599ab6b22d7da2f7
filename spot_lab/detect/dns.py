"""DNS detectors: C2 and tunnelling per registered domain, DGA / NXDOMAIN bursts per client,
volume. (No beacon over query times: a client re-asks a name it keeps using every TTL, as
regular as a beacon; name beacons come from flows named by their DNS answers, flow.py.)

The runner stages the day once (`dns_day`: every response with its registered domain from
the Public Suffix List and its subdomain); every detector reads that staged table.
"""

from __future__ import annotations

import pyarrow as pa

from spot_lab import queries
from spot_lab.detect import names
from spot_lab.detect.base import (
    Context,
    bucketed,
    category,
    findings,
    limit,
    thresholds,
    volume_findings,
)
from spot_lab.engines import worktables as sqlrun

DAY = "_spotlab_det_dns"  # staged by spot_lab.detect.run
SUFFIXES, DOMAINS, BIGRAMS = "_spotlab_det_psl", "_spotlab_det_domains", "_spotlab_det_bigrams"


def stage_day(ctx: Context) -> list[str]:
    """Stage the registered domains of the day's names and the day's responses; return the
    working relations to drop afterwards."""
    sqlrun.push(ctx.engine, SUFFIXES, names.suffix_table())
    day_names = (
        "(SELECT DISTINCT regexp_replace(lower(dns_qry_name), '[.]$', '') AS name FROM dns "
        "WHERE y = :y AND m = :m AND d = :d AND dns_qry_name IS NOT NULL)"
    )
    registered = queries.render("detect_dns", "registered_domains", names=day_names,
                                suffixes=SUFFIXES)  # fmt: skip
    sqlrun.stage(ctx.engine, DOMAINS, registered, ctx.params)
    reverse = queries.sql("dns", "reverse_lookup")
    day_sql = ctx.sql("detect_dns", "dns_day", registered=DOMAINS, reverse_lookup=reverse)
    sqlrun.stage(ctx.engine, DAY, day_sql, ctx.params)
    return [SUFFIXES, DOMAINS, DAY]


def tunnel(ctx: Context) -> pa.Table:
    t = thresholds()["dns_tunnel"]
    entropy = queries.render("scoring", "entropy", source=f"(SELECT DISTINCT replace(sub, '.', '') AS s FROM {DAY} AS e WHERE NOT reverse)")  # fmt: skip
    params = {"long_label": t["long_label"], "payload_entropy": t["payload_entropy"],
              "txt_types": list(t["txt_types"]), "min_queries": t["min_queries"],
              "min_subdomains": t["min_subdomains"], "min_share": t["shape_thresholds"]["base"],
              "limit": limit()}  # fmt: skip
    rows = ctx.rows("detect_dns", "tunnel", params, events=DAY, entropy=entropy)
    for r in rows:
        gated = r["subdomains"] >= t["min_subdomains"]
        r["servfail_share"] = r["servfail"] / r["queries"]
        r["shape"] = max(r["payload_share"], r["txt_share"] if gated else 0.0, r["servfail_share"])
        r.update(entity=r["domain"], entity_kind="domain", external=r["domain"],
                 ips=r["top_client"], names=r["domain"], events=r["queries"])  # fmt: skip

    def score(r):
        return max(bucketed(r["subdomains"], t["subdomain_thresholds"]),
                   bucketed(r["shape"], t["shape_thresholds"]))  # fmt: skip

    return findings(
        "dns_tunnel", rows, template=t["summary"], score_of=score,
        numbers=("queries", "subdomains", "clients", "payload_share", "txt_share", "txt",
                 "servfail", "nxdomain", "b64_answers", "mean_entropy", "longest_sub", "shape"),
    )  # fmt: skip


def dga(ctx: Context) -> pa.Table:
    t = thresholds()["dga"]
    sqlrun.push(ctx.engine, BIGRAMS, names.bigram_table())
    _, unseen = names.bigram_model()
    randomness = queries.render("detect_dns", "bigram_logp", bigrams=BIGRAMS,
                                source=f"(SELECT DISTINCT regexp_extract(domain, '^([^.]+)', 1) AS s FROM {DAY} AS e WHERE rcode = 3)")  # fmt: skip
    params = {
        "random_logp": t["random_bigram_logp"],
        "unseen": unseen,
        "limit": limit(),
        "min_domains": t["nxdomain_thresholds"]["base"],
        "min_z": t["wordlike_min_z"],
    }
    try:
        rows = ctx.rows("detect_dns", "dga", params, events=DAY, randomness=randomness)
    finally:
        sqlrun.drop(ctx.engine, BIGRAMS)
    for r in rows:
        r.update(entity=r["client"], entity_kind="host", external="", ips=r["client"],
                 names=r["example"], events=r["nx_responses"])  # fmt: skip
    return findings(
        "dga", rows, template=t["summary"],
        score_of=lambda r: max(bucketed(r["random_domains"], t["nxdomain_thresholds"]),
                               _wordlike(r, t)),
        numbers=("nx_responses", "nx_domains", "asked", "nx_share", "random_domains", "mean_logp",
                 "z_nx"),
    )  # fmt: skip


def _wordlike(r: dict, t: dict) -> float:
    """Many NXDOMAIN domains, random-looking or not, a share of the client's domains that
    stands out among the day's clients."""
    if r["z_nx"] is None or r["z_nx"] < t["wordlike_min_z"]:
        return 0.0
    return min(
        bucketed(r["nx_domains"], t["nxdomain_thresholds"]), category(t["wordlike_max_category"])
    )


def volume(ctx: Context, history_sql: str) -> pa.Table:
    return volume_findings(ctx, history_sql, "detect_dns", lambda r: "DNS responses", events=DAY)
