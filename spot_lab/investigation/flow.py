"""The flow searcher: Spot's expanded search for one IP (reference 2.3) and its evidence."""

from __future__ import annotations

import math

import pandas as pd

from spot_lab import queries
from spot_lab.engines.days import span_text
from spot_lab.investigation import frames as F
from spot_lab.investigation.sql import ROWS_TABLE


def search(run) -> None:
    """Fill `run.report` for an IP anchor. On the embedded engine the anchor's rows are read
    once (from the per-day IP index when every day has a fresh one, else one scan of the raw
    days) and aggregated from memory; clusters aggregate the raw table in every query."""
    if getattr(run.engine, "kind", "") != "duckdb":
        return _aggregates(run)
    from spot_lab.store.ipindex import covers

    run.indexed = covers(run.engine.lake, run.report.days)
    if run.indexed:
        run.rows = queries.sql("investigation", "rows_flow_index")
    run.engine.arrow(run.sql("materialize_rows", name=ROWS_TABLE), run.params)
    run.rows = ROWS_TABLE
    try:
        _aggregates(run)
    finally:
        run.rows = None
        run.engine.arrow(run.sql("drop_rows", name=ROWS_TABLE))


def _aggregates(run) -> None:
    r = run.report
    peers = run.df("flow_peers")
    if peers.empty:
        r.mark_empty(f"no flow connections of {r.anchor} {span_text(r.first_day, r.last_day)}")
        return
    peers["cv_interval"] = peers["sd_interval"] / peers["mean_interval"].where(
        peers["mean_interval"] > 0
    )
    F.epoch_columns(peers, "first_seen", "last_seen", "first_contact")
    me = pd.DataFrame(
        {
            "peer": [r.anchor],
            "direction": [F.mirror(peers["direction"])],
            "connections": [int(peers["connections"].sum())],
            "bytes": [int(peers["bytes"].sum())],
        }
    )
    both = run.enrich(pd.concat([me, peers], ignore_index=True), "peer")  # one lookup
    me, peers = both.iloc[:1], both.iloc[1:].reset_index(drop=True)
    r.peers = peers
    r.details = F.epoch_columns(run.df("flow_details"))
    for direction, attr in (("inbound", "inbound"), ("outbound", "outbound"),
                            ("two-way", "two_way")):  # fmt: skip
        setattr(r, attr, peers[peers["direction"] == direction].reset_index(drop=True))
    r.top_by_bytes = F.top_per_group(peers, "bytes", run.top)
    r.top_by_connections = F.top_per_group(peers, "connections", run.top)
    lanes = F.lanes("peer", r.top_by_connections, r.top_by_bytes)
    r.top_peers = lanes
    r.timeline = F.minutes(run.df("flow_timeline", {"peers": lanes}))
    profile = run.df("flow_profile")
    run.profile(profile)
    r.protocols = F.share(profile, "proto", "connections")
    r.impact = F.impact(peers)
    r.where = F.where_table(both, "peer")
    r.endpoints = both[["peer", "direction", "connections", "bytes"]].rename(columns={"peer": "ip"})
    run.patient_zero(peers, "peer", "first_contact")
    _port_evidence(run)
    _beacon_evidence(run, peers)
    _volume_evidence(run, peers, me)


def _port_evidence(run) -> None:
    """How much of each service port's traffic in the range is the anchor's."""
    ev = run.evidence
    mine = run.df("flow_anchor_ports", server_answer=queries.sql("netflow", "server_answer"))
    mine = mine[mine["dport"] <= ev.param("port", "max_service_port")]  # not ephemeral ports
    mine = mine.sort_values(["connections", "dport"], ascending=[False, True]).head(5)
    if mine.empty:
        return
    ours = dict(zip(mine["dport"].tolist(), mine["connections"].tolist(), strict=True))
    query = "flow_port_usage_index" if run.indexed else "flow_port_usage"
    usage = run.df(query, {"ports": list(ours)})
    totals = zip(usage["dport"].tolist(), usage["connections"].tolist(), strict=True)
    for port, total in sorted(totals):
        ev.add("port", port=port, mine=ours[port], total=total, share=ours[port] / total)


def _beacon_evidence(run, peers: pd.DataFrame) -> None:
    ev, r = run.evidence, run.report
    min_gaps, max_cv = (
        ev.param("beacon_intervals", "min_gaps"),
        ev.param("beacon_intervals", "max_cv"),
    )
    regular = peers[(peers["gaps"] >= min_gaps) & (peers["cv_interval"] < max_cv)]
    beacons = sorted(regular.to_dict("records"), key=lambda b: (b["cv_interval"], b["peer"]))
    for row in beacons[: ev.param("beacon_intervals", "shown")]:  # sorted in Python: few rows
        ev.add("beacon_intervals", cv=float(row["cv_interval"]), peer=row["peer"],
               connections=row["connections"], mean_interval=row["mean_interval"],
               sd_interval=row["sd_interval"])  # fmt: skip
    table = run.optional("flow_beacons_of")
    if not table.empty:  # shown as a table; the Why cites the beacon detector (detections.py)
        r.beacons = table


def _volume_evidence(run, peers: pd.DataFrame, me: pd.DataFrame) -> None:
    ev = run.evidence
    sent, received = int(peers["bytes_sent"].sum()), int(peers["bytes_received"].sum())
    ratio = sent / received if received else math.inf if sent else 0.0
    internal = bool(me["internal"].iloc[0])  # private space or the configured ranges
    # data leaving the network: an internal anchor sending, or an external one receiving
    leaving = ratio if internal else (1 / ratio if ratio else math.inf)
    ev.add("byte_ratio", ratio=ratio, leaving=leaving, sent=sent, received=received)
    ev.add("peers", peers=len(peers))
