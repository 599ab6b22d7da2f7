"""Flow detectors: RITA v5 beacons (IP pairs and FQDNs), strobes, long connections, port scans
and host sweeps, brute force, lateral movement, exfiltration, volume, banned countries.

Each reads the day (and, where it says so, the lake's earlier days) in the engine's SQL
(queries/detect_flow.yaml, detect_beacon.yaml) and returns its findings (detect.base).
`outbound` is the day's internal -> public flows, staged once by the runner.
"""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

from spot_lab.detect.base import (
    CANDIDATES,
    Context,
    bucketed,
    category,
    clean,
    findings,
    hours,
    limit,
    thresholds,
    volume_findings,
)
from spot_lab.engines import worktables as sqlrun
from spot_lab.errors import SpotLabError

OUT = "_spotlab_det_outbound"  # staged by spot_lab.detect.run (the `outbound` query)
ANSWERS = "_spotlab_det_answers"  # the day's DNS answers (client, ip, name), staged with OUT


def stage_answers(ctx: Context) -> str:
    """Stage the day's DNS answers (names for addresses); empty when the lake has no DNS."""
    from spot_lab.engines.days import available_days

    try:
        if ctx.day in set(available_days(ctx.engine, "dns")):
            sqlrun.stage(ctx.engine, ANSWERS, ctx.sql("detect_flow", "day_answers"), ctx.params)
            return ANSWERS
    except SpotLabError:  # a cluster database without Spot's dns table
        pass
    ctx.notes.append(
        "no DNS answers for this day: no name beacons, names or popularity of addresses"
    )
    empty = pa.table({"client": pa.array([], pa.string()), "ip": pa.array([], pa.string()),
                      "name": pa.array([], pa.string())})  # fmt: skip
    sqlrun.push(ctx.engine, ANSWERS, empty)
    return ANSWERS


def beacon_params(ctx: Context) -> dict[str, Any]:
    b = thresholds()["beacon"]
    return {
        "min_conns": b["unique_connection_threshold"],
        "strobe_min": max(4, int(b["strobe_per_second"] * ctx.span)),
        "bins": b["histogram_bins"], "min_span": b["observed_span_min_s"],
        "mode_sensitivity": b["histogram_mode_sensitivity"],
        "bimodal_min_hours": b["histogram_bimodal_min_hours_seen"],
        "bimodal_outliers": b["histogram_bimodal_outlier_removal"],
        "ideal_hours": b["duration_consistency_ideal_hours_seen"],
        "min_hours": b["duration_min_hours_seen"], "min_spread": b["bowley_min_spread"],
        "w_ts": b["timestamp_score_weight"], "w_ds": b["datasize_score_weight"],
        "w_hist": b["histogram_score_weight"], "w_dur": b["duration_score_weight"],
        "burst_gap": b["burst_gap_s"], "burst_min_period": b["burst_min_period_s"],
        "base": b["score_thresholds"]["base"], "limit": limit(),
    }  # fmt: skip


def quantile_function(ctx: Context) -> str:
    """The engine's exact continuous quantile aggregate: DuckDB's, else Spark's and Hive's."""
    return "quantile_cont" if sqlrun.is_embedded(ctx.engine) else "percentile"


BEACON_EVENTS, BEACON_INTERVALS = "_spotlab_det_bpe", "_spotlab_det_biv"


def beacon_rows(ctx: Context, events: str, seen: str | None = None) -> list[dict[str, Any]]:
    """RITA's beacon scores of the (src, dst, ts, bytes) relation `events`, best first: the
    candidate pairs' connections and intervals are staged once, then scored. `seen` (ip,
    first_ts, last_ts) is when each source was seen that day; by default its `events`."""
    params = {**ctx.params, **beacon_params(ctx)}
    seen = seen or "(" + ctx.sql("detect_beacon", "event_spans", events=events) + ")"
    try:
        quantiles = quantile_function(ctx) + "("
        sql = ctx.sql("detect_beacon", "beacon_events", events=events, seen=seen)
        sqlrun.stage(ctx.engine, BEACON_EVENTS, sql.replace("spot_quantile(", quantiles), params)
        sqlrun.stage(ctx.engine, BEACON_INTERVALS,
                     ctx.sql("detect_beacon", "beacon_intervals", pe=BEACON_EVENTS))  # fmt: skip
        sql = ctx.sql("detect_beacon", "beacons", pe=BEACON_EVENTS, iv=BEACON_INTERVALS)
        table = ctx.engine.arrow(sql.replace("spot_quantile(", quantiles), params)
    finally:
        sqlrun.drop(ctx.engine, BEACON_EVENTS, BEACON_INTERVALS)
    return [{k: clean(v) for k, v in r.items()} for r in table.to_pylist()]


def regular(rows: list[dict]) -> list[dict]:
    """The beacon rows regular in time and size together (thresholds.yaml
    `beacon.min_regularity`), or in time alone by the timing score at its confidence bounds."""
    b = thresholds()["beacon"]
    return [r for r in rows if timing_at_bounds(r, b["chance_z"]) >= b["min_timing"]
            or (r["ts_score"] + r["ds_score"]) / 2 >= b["min_regularity"]]  # fmt: skip


def timing_at_bounds(r: dict, z: float) -> float:
    """RITA's timestamp score with the Bowley skew of the n intervals shrunk by z standard
    errors (sqrt(2 / n)) and their MAD raised by z standard errors (MAD / sqrt(n)): symmetry
    is doubted only when the asymmetry is significant, tightness trusted only when it is."""
    n, median = r.get("intervals") or 0, r.get("median_iv") or 0
    if n < 2 or median < 1:
        return r["ts_score"]
    skew = max(0.0, abs(r["ts_skew"] or 0.0) - z * math.sqrt(2 / n))
    mad = (r["mad_iv"] or 0.0) * (1 + z / math.sqrt(n))
    return (1 - skew + max(0.0, 1 - mad / median)) / 2


def _beacon_findings(name: str, rows, kind_of_dst: str) -> pa.Table:
    b = thresholds()["beacon"]
    rows = regular(rows)
    for r in rows:
        r["entity"], r["entity_kind"] = f"{r['src']} -> {r['dst']}", "pair"
        if kind_of_dst == "ip":
            r["ips"], r["names"], r["external"] = f"{r['src']} {r['dst']}", "", r["dst"]
        else:
            r["ips"], r["names"], r["external"] = r["src"], r["dst"], r["dst"]
        r["events"] = r["conns"]
        r["span_hours"] = hours(r["last_ts"] - r["first_ts"])
    return findings(
        name, rows, template=b["summary"],
        score_of=lambda r: bucketed(r["score"] * 100, b["score_thresholds"]),
        numbers=("score", "ts_score", "ds_score", "hist_score", "dur_score", "conns",
                 "median_iv", "mad_iv", "mean_iv", "median_bytes", "mad_bytes", "span_hours"),
    )  # fmt: skip


def scheduled_out(ctx: Context) -> str:
    """The outbound flows without those of services that poll by design (thresholds.yaml
    `beacon.periodic_services`, e.g. NTP); its values are bound into ctx.params."""
    clauses = []
    for i, svc in enumerate(thresholds()["beacon"]["periodic_services"]):
        ctx.params.update({f"ps{i}_proto": svc["proto"].upper(), f"ps{i}_port": svc["port"],
                           f"ps{i}_bytes": svc["max_bytes"]})  # fmt: skip
        clauses.append(
            f"(o.proto = :ps{i}_proto AND o.dport = :ps{i}_port AND o.bytes <= :ps{i}_bytes)"
        )
    keep = f"WHERE NOT ({' OR '.join(clauses)})" if clauses else ""
    return f"(SELECT o.src, o.dst, o.ts, o.bytes FROM {OUT} AS o {keep})"


def seen_hosts(ctx: Context) -> str:
    """When each internal host was seen in the day's flows, on either side (day_ips)."""
    return f"(SELECT ip, first_ts, last_ts FROM {ctx.hosts} AS h WHERE h.kind = 'internal')"


def beacon(ctx: Context) -> pa.Table:
    rows = beacon_rows(ctx, scheduled_out(ctx), seen_hosts(ctx))
    return _beacon_findings("beacon", rows, "ip")


def beacon_fqdn(ctx: Context) -> pa.Table:
    """Beacons to a name (its addresses may change: CDNs, fast flux), from the DNS answers."""
    events = "(" + ctx.sql("detect_flow", "fqdn_events", outbound=scheduled_out(ctx),
                           answers=ANSWERS) + ")"  # fmt: skip
    return _beacon_findings("beacon_fqdn", beacon_rows(ctx, events, seen_hosts(ctx)), "name")


def strobe(ctx: Context) -> pa.Table:
    b = thresholds()["beacon"]
    params = beacon_params(ctx)
    rows = ctx.rows("detect_beacon", "strobes", params, events=scheduled_out(ctx))
    for r in rows:
        r.update(entity=f"{r['src']} -> {r['dst']}", entity_kind="pair", external=r["dst"],
                 ips=f"{r['src']} {r['dst']}", events=r["conns"],
                 per_second=r["conns"] / max(1, ctx.span), strobe_min=params["strobe_min"])  # fmt: skip
    return findings(
        "strobe", rows, template=b["strobe_summary"],
        score_of=lambda r: category(b["strobe_category"]),
        numbers=("conns", "per_second", "total_bytes", "strobe_min"),
    )  # fmt: skip


def scheduled_pairs(ctx: Context, history_sql: str) -> set[tuple[str, str]]:
    """(src, dst) pairs whose transfer today repeats an earlier day's at the same time of day
    (thresholds.yaml `scheduled`); computed once per day."""
    if "scheduled" not in ctx.cache:
        t = thresholds()["scheduled"]
        rows = [] if not ctx.history else ctx.rows(
            "detect_flow", "scheduled_transfers",
            {"min_bytes": t["min_bytes"], "tolerance": t["start_tolerance_s"],
             "min_share": t["min_share"], "bulk_share": t["bulk_share"]},
            outbound=OUT, history=history_sql)  # fmt: skip
        ctx.cache["scheduled"] = {(r["src"], r["dst"]) for r in rows}
        if rows:
            ctx.notes.append(f"{len(rows)} scheduled transfer(s) (the same pair at the same time "
                             "on an earlier day) left out of exfiltration and long connections")  # fmt: skip
    return ctx.cache["scheduled"]


def _unscheduled(ctx: Context, history_sql: str, rows: list[dict]) -> list[dict]:
    skip = scheduled_pairs(ctx, history_sql)
    return [r for r in rows if (r["src"], r["dst"]) not in skip]


def long_connection(ctx: Context, history_sql: str) -> pa.Table:
    t = thresholds()["long_connection"]
    limits = t["score_thresholds"]
    rows = ctx.rows("detect_flow", "long_connections",
                    {"min_duration": limits["base"], "limit": limit()}, outbound=OUT)  # fmt: skip
    rows = _unscheduled(ctx, history_sql, rows)
    for r in rows:
        r.update(entity=f"{r['src']} -> {r['dst']}", entity_kind="pair", external=r["dst"],
                 ips=f"{r['src']} {r['dst']}", events=r["conns"],
                 total_hours=hours(r["total_dur"]))  # fmt: skip
    return findings(
        "long_connection", rows, template=t["summary"],
        score_of=lambda r: bucketed(r["total_dur"], limits),
        numbers=("total_dur", "total_hours", "longest", "conns", "total_bytes"),
    )  # fmt: skip


def scan(ctx: Context) -> pa.Table:
    t = thresholds()["scan"]
    walk = sequential_weights(t["sequential"])
    params = {"min_ports": t["port_thresholds"]["base"], "min_hosts": t["sweep_thresholds"]["base"],
              "min_probes": t["probe_thresholds"]["base"], "min_share": t["min_failed_share"],
              **walk, "limit": limit()}  # fmt: skip
    rows = ctx.rows("detect_flow", "scans", params)
    shapes = {"port scan": lambda r: bucketed(r["ports"], t["port_thresholds"]),
              "host sweep": lambda r: bucketed(r["hosts"], t["sweep_thresholds"]),
              "probes": lambda r: max(bucketed(r["probes"], t["probe_thresholds"]),
                                      category("none") if r["evidence"] >= walk["min_evidence"] else 0.0)}  # fmt: skip
    for r in rows:
        r.update(entity=r["src"], entity_kind="host", external="", threshold=walk["min_evidence"],
                 ips=" ".join(x for x in (r["src"], r["target"]) if x), events=r["conns"],
                 port_share=r["port_share"] or 0.0, host_share=r["host_share"] or 0.0)  # fmt: skip
        found = sorted((k for k in shapes if shapes[k](r) > 0), key=lambda k: -shapes[k](r))
        r["shapes"] = "; ".join(t["summaries"][k].format(**r) for k in found)
    return findings(
        "scan", rows, template="{shapes}",
        score_of=lambda r: max(f(r) for f in shapes.values()),
        numbers=("ports", "port_share", "hosts", "host_share", "probes", "probed", "evidence", "conns"),
    )  # fmt: skip


def sequential_weights(p: dict[str, float]) -> dict[str, float]:
    """Threshold Random Walk's log-likelihood steps and its upper threshold (Jung et al. 2004)."""
    return {"llr_failed": math.log((1 - p["theta1"]) / (1 - p["theta0"])),
            "llr_reached": math.log(p["theta1"] / p["theta0"]),
            "min_evidence": math.log(p["detection"] / p["false_alarm"])}  # fmt: skip


def brute_force(ctx: Context) -> pa.Table:
    """Failed-login-shaped connections per source and service (see detect_flow.yaml)."""
    t = thresholds()["brute_force"]
    params = {"window": t["window_seconds"], "source_window": t["source_window_seconds"],
              "auth_ports": list(t["auth_ports"]), "max_bytes": t["max_attempt_bytes"],
              "max_seconds": t["max_attempt_seconds"], "min_attempts": t["attempt_thresholds"]["base"],
              "min_source_attempts": t["source_attempt_thresholds"]["base"],
              "min_day_attempts": t["day_attempt_thresholds"]["base"],
              "day_ports": list(t["day_ports"]),
              "poll_interval": t["poll_interval"], "poll_mad": t["poll_mad"],
              "poll_count": t["poll_count"], "limit": limit()}  # fmt: skip
    sql = ctx.sql("detect_flow", "brute_force").replace(
        "spot_quantile(", quantile_function(ctx) + "("
    )
    rows = [{k: clean(v) for k, v in r.items()}
            for r in ctx.engine.arrow(sql, {**ctx.params, **params}).to_pylist()]  # fmt: skip
    targets = _targets(ctx, rows, params)
    keep = int(thresholds()["limits"]["names_per_threat"])
    for r in rows:
        mine = targets.get((r["src"], r["dport"]), [r["target"]])
        r.update(entity=r["src"], entity_kind="host", external="",
                 ips=" ".join([r["src"], *mine[:keep]]), events=r["attempts"],
                 target_list=", ".join(mine[:3]) + (", ..." if len(mine) > 3 else ""),
                 window_minutes=t["window_seconds"] // 60,
                 source_minutes=t["source_window_seconds"] // 60)  # fmt: skip
    return findings(
        "brute_force", rows, template=t["summary"],
        score_of=lambda r: max(bucketed(r["peak"], t["attempt_thresholds"]),
                               bucketed(r["source_peak"], t["source_attempt_thresholds"]),
                               bucketed(r["repeated"], t["day_attempt_thresholds"])),
        numbers=("dport", "peak", "source_peak", "attempts", "repeated", "targets"),
    )  # fmt: skip


def _targets(ctx: Context, rows, params) -> dict[tuple[str, int], list[str]]:
    if not rows:
        return {}
    sources = sorted({r["src"] for r in rows})
    sqlrun.push(ctx.engine, CANDIDATES, pa.table({"ip": pa.array(sources, pa.string())}))
    try:
        table = ctx.run("detect_flow", "brute_force_targets", params, candidates=CANDIDATES)
    finally:
        sqlrun.drop(ctx.engine, CANDIDATES)
    out: dict[tuple[str, int], list[str]] = {}
    for r in table.to_pylist():
        out.setdefault((r["src"], r["dport"]), []).append(r["dst"])
    return {k: sorted(v) for k, v in out.items()}


def lateral(ctx: Context, history_sql: str) -> pa.Table:
    t = thresholds()["lateral"]
    params = {"admin_ports": list(t["admin_ports"]), "limit": limit()}
    rows = ctx.rows("detect_flow", "lateral", params, history=history_sql)
    rows = [r for r in rows if r["clients"] <= t["max_clients"]]  # workstations only
    fanout: dict[str, set] = {}
    for r in rows:
        fanout.setdefault(r["src"], set()).add(r["dst"])
    has_history = bool(ctx.history)
    for r in rows:
        r.update(entity=f"{r['src']} -> {r['dst']}", entity_kind="pair", external="",
                 ips=f"{r['src']} {r['dst']}", events=r["conns"], fanout=len(fanout[r["src"]]),
                 seen="first seen today" if r["new_pair"] and has_history
                 else "no earlier day to compare" if not has_history
                 else "seen on earlier days", history_days=len(ctx.history))  # fmt: skip

    def score(r):
        if not has_history:
            spread = r["fanout"] >= t["no_history_fanout"]
            return category(t["no_history_category"]) if spread else 0.0
        return category(t["new_pair_category"]) if r["new_pair"] else 0.0

    return findings(
        "lateral",
        rows,
        template=t["summary"],
        score_of=score,
        numbers=("dport", "conns", "bytes", "clients", "new_pair", "fanout", "history_days"),
    )


def exfiltration(ctx: Context, history_sql: str) -> pa.Table:
    t = thresholds()["exfiltration"]
    params = {"min_bytes": t["min_bytes"], "limit": limit()}
    rows = ctx.rows("detect_flow", "exfiltration", params, outbound=OUT, history=history_sql)
    rows = _unscheduled(ctx, history_sql, rows)
    for r in rows:
        # the larger z: the pair's own past can raise the alarm (a change), never lower it
        # (several days of exfiltration to one host would make it the pair's normal)
        own = r["z_own"] is not None and r["z_own"] > r["z_peers"]
        z = r["z_own"] if own else r["z_peers"]
        r.update(entity=f"{r['src']} -> {r['dst']}", entity_kind="pair", external=r["dst"],
                 ips=f"{r['src']} {r['dst']}", events=r["conns"], z=z,
                 against="its own earlier days" if own else "the day's other pairs",
                 megabytes=r["out_bytes"] / 1e6)  # fmt: skip
    return findings(
        "exfiltration", rows, template=t["summary"],
        score_of=lambda r: min(bucketed(r["z"], t["z_thresholds"]),
                               bucketed(r["out_bytes"], t["byte_thresholds"])),
        numbers=("out_bytes", "z_peers", "z_own", "own_days", "conns"),
    )  # fmt: skip


def volume(ctx: Context, history_sql: str) -> pa.Table:
    return volume_findings(ctx, history_sql, "detect_flow", lambda r: "flows")


def policy(ctx: Context) -> pa.Table:
    """Outbound traffic to a country in SpotLab.banned_countries (geolocated once per address)."""
    from spot_lab.detect.places import banned_addresses

    t = thresholds()["policy"]
    banned = banned_addresses(ctx, ctx.sql("detect_flow", "public_destinations", outbound=OUT))
    if banned is None:
        return findings("policy", [], template="", score_of=lambda r: 0, numbers=())
    rows = ctx.rows("detect_flow", "policy", {"limit": limit()}, outbound=OUT, banned=banned)
    for r in rows:
        r.update(entity=f"{r['src']} -> {r['dst']}", entity_kind="pair", external=r["dst"],
                 ips=f"{r['src']} {r['dst']}", events=r["conns"])  # fmt: skip
    return findings(
        "policy",
        rows,
        template=t["summary"],
        score_of=lambda r: category(t["category"]),
        numbers=("conns", "bytes"),
    )
