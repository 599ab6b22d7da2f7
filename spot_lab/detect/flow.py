"""Flow detectors: RITA v5 beacons (IP pairs and FQDNs), strobes, long connections, port scans
and host sweeps, brute force, lateral movement, exfiltration, volume, banned countries.

Each reads the day (and, where it says so, the lake's earlier days) in the engine's SQL
(queries/detect_flow.yaml, detect_beacon.yaml) and returns its findings (detect.base).
`outbound` is the day's internal -> public flows, staged once by the runner.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Any

import pyarrow as pa

from spot_lab import queries
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
            sqlrun.stage(ctx.engine, ANSWERS, answers_sql(ctx), ctx.params)
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


def beacon_params(ctx: Context, days: int = 1) -> dict[str, Any]:
    b = thresholds()["beacon"]
    return {
        "min_conns": b["unique_connection_threshold"],
        "strobe_min": max(4, int(b["strobe_per_second"] * ctx.span * days)),
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
# each pair's interval stats, byte stats and histogram, staged apart (see `beacons`)
BEACON_PARTS = {"ivs": "_spotlab_det_bis", "bys": "_spotlab_det_bbs", "hist": "_spotlab_det_bhs"}
WINDOW_PAIRS = "_spotlab_det_bwp"  # the pairs scored again across the lake's days


def beacon_rows(ctx: Context, events: str, seen: str | None = None, days: int = 1) -> list[dict]:
    """RITA's beacon scores of the (src, dst, ts, bytes) relation `events`, best first: the
    candidate pairs' connections and intervals are staged once, then each part of the score
    per pair, then the parts are joined and scored. `seen` (ip, first_ts, last_ts) is when
    each source was seen; by default its `events`. `days`: how many days `events` span (a
    strobe's count grows with them)."""
    params = {**ctx.params, **beacon_params(ctx, days)}
    seen = seen or "(" + ctx.sql("detect_beacon", "event_spans", events=events) + ")"
    quantiles = quantile_function(ctx) + "("

    def stage(name: str, query: str, **parts: str) -> None:
        sql = ctx.sql("detect_beacon", query, **parts).replace("spot_quantile(", quantiles)
        sqlrun.stage(ctx.engine, name, sql, params)

    try:
        stage(BEACON_EVENTS, "beacon_events", events=events, seen=seen)
        stage(BEACON_INTERVALS, "beacon_intervals", pe=BEACON_EVENTS)
        stage(BEACON_PARTS["ivs"], "beacon_interval_stats", iv=BEACON_INTERVALS)
        stage(BEACON_PARTS["bys"], "beacon_byte_stats", pe=BEACON_EVENTS)
        stage(BEACON_PARTS["hist"], "beacon_histograms", pe=BEACON_EVENTS)
        sql = ctx.sql("detect_beacon", "beacons", regular=regularity_sql(params), **BEACON_PARTS)
        table = ctx.engine.arrow(sql, params)
    finally:
        sqlrun.drop(ctx.engine, BEACON_EVENTS, BEACON_INTERVALS, *BEACON_PARTS.values())
    return [{**{k: clean(v) for k, v in r.items()}, "days": days} for r in table.to_pylist()]


def regular(rows: list[dict]) -> list[dict]:
    """The beacon rows that passed the regularity gates (`regularity_sql`)."""
    return [r for r in rows if r["regular"]]


def regularity_sql(params: dict[str, Any]) -> str:
    """1 when a scored pair (ts_score, ds_score, ts_skew, intervals, median_iv, mad_iv) is
    regular, else 0 (values bound into `params`). Regular in time and size together
    (thresholds.yaml `beacon.min_regularity`), or in time alone by two tests of its sampling
    noise: its timing at the favourable bounds (the Bowley skew shrunk by chance_z standard
    errors, sqrt(2 / n), the MAD lowered by chance_z / sqrt(n) of itself) could be an implant's
    (`beacon.min_timing`), and its MAD / median is under the person null's quantile at n."""
    b = thresholds()["beacon"]
    params.update(min_regularity=b["min_regularity"], min_timing=b["min_timing"],
                  chance_z=b["chance_z"])  # fmt: skip
    timing = ("(1 - greatest(0, abs(ts_skew) - :chance_z * sqrt(2.0 / intervals))"
              " + greatest(0, 1 - mad_iv * greatest(0, 1 - :chance_z / sqrt(intervals)) / median_iv)) / 2")  # fmt: skip
    return (f"CASE WHEN (ts_score + ds_score) / 2 >= :min_regularity THEN 1 "
            f"WHEN median_iv >= 1 AND intervals >= 2 AND {timing} >= :min_timing "
            f"AND mad_iv / median_iv < {person_null_sql(params)} THEN 1 ELSE 0 END")  # fmt: skip


def person_null_sql(params: dict[str, Any]) -> str:
    """The person null's MAD / median quantile at `intervals` (thresholds.yaml
    `beacon.person_null`: linear in log n between its sizes, the last size's beyond; -1 below
    the first), its values bound into `params`."""
    table = sorted(thresholds()["beacon"]["person_null"]["mad_ratio"].items())
    params.update(pn_n0=table[0][0], pn_last=table[-1][1])
    whens = ["WHEN intervals < :pn_n0 THEN -1"]
    for i, ((n0, q0), (n1, q1)) in enumerate(itertools.pairwise(table)):
        params.update({f"pn_n{i + 1}": n1, f"pn_q{i}": q0, f"pn_l{i}": math.log(n0),
                       f"pn_s{i}": (q1 - q0) / (math.log(n1) - math.log(n0))})  # fmt: skip
        whens.append(f"WHEN intervals < :pn_n{i + 1} THEN :pn_q{i} + (ln(intervals) - :pn_l{i}) * :pn_s{i}")  # fmt: skip
    return f"(CASE {' '.join(whens)} ELSE :pn_last END)"


def window_days(ctx: Context) -> list[dt.date]:
    """The lake's earlier days within the beacon window (thresholds.yaml `beacon.window_days`)."""
    back = thresholds()["beacon"]["window_days"]
    return [d for d in ctx.history if (ctx.day - d).days <= back]


def across_days(ctx: Context, rows: list[dict], window_of, seen: str) -> list[dict]:
    """The day's regular beacon rows, and the pairs the day's check-ins leave short of the
    gates scored again over the window's earlier days too (thresholds.yaml
    `beacon.window_days`). `window_of(pairs, days)` gives the SQL of the pairs' events
    today and on the earlier `days` and of each source's first event (ip, first_ts) on
    those days; `seen` is when each source was seen today."""
    days = window_days(ctx)
    passing = regular(rows)
    kept = {(r["src"], r["dst"]) for r in passing}
    short = [r for r in rows if (r["src"], r["dst"]) not in kept]
    if not days or not short:
        return passing
    pairs = pa.table({"src": pa.array([r["src"] for r in short], pa.string()),
                      "dst": pa.array([r["dst"] for r in short], pa.string())})  # fmt: skip
    sqlrun.push(ctx.engine, WINDOW_PAIRS, pairs)
    try:
        events, first = window_of(WINDOW_PAIRS, days)
        spans = (f"(SELECT s.ip, least(s.first_ts, coalesce(w.first_ts, s.first_ts)) AS first_ts, "
                 f"s.last_ts FROM {seen} AS s LEFT JOIN ({first}) AS w ON w.ip = s.ip)")  # fmt: skip
        wider = regular(beacon_rows(ctx, events, spans, len(days) + 1))
    finally:
        sqlrun.drop(ctx.engine, WINDOW_PAIRS)
    for r in wider:  # the days the pair was seen on, to this one
        r["days"] = (
            ctx.day - dt.datetime.fromtimestamp(r["first_ts"], dt.timezone.utc).date()
        ).days + 1
    return passing + wider


def across(r: dict) -> str:
    """The summary's note of a beacon scored over several days."""
    return f" across {r['days']} days" if r["days"] > 1 else ""


def _beacon_findings(name: str, rows, kind_of_dst: str) -> pa.Table:
    """Findings of the regular beacon rows (`regular`, `across_days`)."""
    b = thresholds()["beacon"]
    for r in rows:
        r["entity"], r["entity_kind"] = f"{r['src']} -> {r['dst']}", "pair"
        if kind_of_dst == "ip":
            r["ips"], r["names"], r["external"] = f"{r['src']} {r['dst']}", "", r["dst"]
        else:
            r["ips"], r["names"], r["external"] = r["src"], r["dst"], r["dst"]
        r["events"] = r["conns"]
        r["span_hours"], r["across"] = hours(r["last_ts"] - r["first_ts"]), across(r)
    return findings(
        name, rows, template=b["summary"],
        score_of=lambda r: bucketed(r["score"] * 100, b["score_thresholds"]),
        numbers=("score", "ts_score", "ds_score", "hist_score", "dur_score", "conns",
                 "median_iv", "mad_iv", "mean_iv", "median_bytes", "mad_bytes", "span_hours",
                 "days"),
    )  # fmt: skip


def scheduled_out(ctx: Context, flows: str = OUT) -> str:
    """The outbound flows (of `flows`: src, dst, ts, bytes, dport, proto) without those of
    services that poll by design (thresholds.yaml `beacon.periodic_services`, e.g. NTP); its
    values are bound into ctx.params."""
    clauses = []
    for i, svc in enumerate(thresholds()["beacon"]["periodic_services"]):
        ctx.params.update({f"ps{i}_proto": svc["proto"].upper(), f"ps{i}_port": svc["port"],
                           f"ps{i}_bytes": svc["max_bytes"]})  # fmt: skip
        clauses.append(
            f"(o.proto = :ps{i}_proto AND o.dport = :ps{i}_port AND o.bytes <= :ps{i}_bytes)"
        )
    keep = f"WHERE NOT ({' OR '.join(clauses)})" if clauses else ""
    return f"(SELECT o.src, o.dst, o.ts, o.bytes FROM {flows} AS o {keep})"


def seen_hosts(ctx: Context) -> str:
    """When each internal host was seen in the day's flows, on either side (day_ips)."""
    return f"(SELECT ip, first_ts, last_ts FROM {ctx.hosts} AS h WHERE h.kind = 'internal')"


TODAY = "y = :y AND m = :m AND d = :d"  # the day's partition (ctx.params)


def outbound_sql(ctx: Context, days: str = TODAY) -> str:
    """The `outbound` flows of the days `days` (a y/m/d predicate)."""
    return ctx.sql("detect_flow", "outbound", days=days,
                   server_answer=queries.sql("netflow", "server_answer"))  # fmt: skip


def answers_sql(ctx: Context, days: str = TODAY) -> str:
    """The `day_answers` of the days `days` (a y/m/d predicate)."""
    return ctx.sql("detect_flow", "day_answers", days=days)


def beacon(ctx: Context) -> pa.Table:
    def window_of(pairs: str, days: list[dt.date]) -> tuple[str, str]:
        window = ctx.days_sql(days, "w")
        flows = ctx.sql("detect_flow", "window_events", pairs=pairs,
                        events=outbound_sql(ctx, f"({TODAY}) OR ({window})"))  # fmt: skip
        first = ctx.sql("detect_flow", "window_first_seen", pairs=pairs, window=window)
        return scheduled_out(ctx, f"({flows})"), first

    seen = seen_hosts(ctx)
    rows = beacon_rows(ctx, scheduled_out(ctx), seen)
    return _beacon_findings("beacon", across_days(ctx, rows, window_of, seen), "ip")


def beacon_fqdn(ctx: Context) -> pa.Table:
    """Beacons to a name (its addresses may change: CDNs, fast flux), from the DNS answers;
    across the lake's days as `beacon` (each flow named by its client's answers of those days)."""

    def window_of(pairs: str, days: list[dt.date]) -> tuple[str, str]:
        window = ctx.days_sql(days, "w")
        both = f"({TODAY}) OR ({window})"
        named = ctx.sql("detect_flow", "fqdn_events", answers=f"({answers_sql(ctx, both)})",
                        outbound=scheduled_out(ctx, f"({outbound_sql(ctx, both)})"))  # fmt: skip
        events = ctx.sql("detect_flow", "window_events", pairs=pairs, events=named)
        first = ctx.sql("detect_flow", "window_first_seen", pairs=pairs, window=window)
        return f"({events})", first

    events = "(" + ctx.sql("detect_flow", "fqdn_events", outbound=scheduled_out(ctx),
                           answers=ANSWERS) + ")"  # fmt: skip
    seen = seen_hosts(ctx)
    rows = across_days(ctx, beacon_rows(ctx, events, seen), window_of, seen)
    return _beacon_findings("beacon_fqdn", rows, "name")


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
