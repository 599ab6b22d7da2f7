"""The triage list: the detectors' findings combined into one row per entity, ranked.

Severity (thresholds.yaml `severity`, after RITA v5's viewer/results.sql final_score):

    severity = max(category score of each detector that fired on the entity)
             + prevalence   (+0.15 when at most 2% of the internal hosts reach the outside
                             party, -0.15 when at least half do; from 10 internal hosts)
             + first seen   (+0.15 when the lake's earlier days never saw the outside party,
                             -0.15 when it was seen 30 or more days before; 0 without history)
             + popular      (-0.15: the outside party's registered domain is a top site)
             + no direct connection (+0.15: a domain whose answers no flow of the day reached)
             + corroboration (+0.05 per further detector that fired, at most +0.15)
             + inbound internet (-0.15: scans only, from a public address)
             + internal scan (+0.15: a scan from an internal host, ATT&CK T1046)

Findings on allowlisted parties (SpotLab.allowlist, detect/known_services.yaml) and the
beacons of an application to a top site, or to a party at least half the internal hosts
reach (severity `popular_heartbeats`), are left out.
Spot's LDA (spot_lab.detect.lda, 0.2-0.3) corroborates: alone it is not a threat (severity
`lda_alone`). Only entities whose largest category score and final severity reach RITA's
lowest category (0.2) are threats, and a finding in that lowest band about an outside party
only when something marks the party out (severity `weak_leads`).
Rank 1 is the most severe; ties by largest category score, events, entity.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from spot_lab.detect.base import thresholds
from spot_lab.store.lake import to_arrow
from spot_lab.store.schema import TABLES


@dataclass
class Modifiers:
    """What the modifiers need, per outside party (an IP, a domain, a web host)."""

    internal_count: int = 0  # internal hosts (or clients) of the day
    prevalence: Mapping[str, int] = field(default_factory=dict)  # party -> internal hosts
    first_day: Mapping[str, int] = field(default_factory=dict)  # party -> yyyymmdd seen before
    history: list[dt.date] = field(default_factory=list)
    day: dt.date | None = None
    unreached: set[str] = field(default_factory=set)  # domains no flow reached
    extra_ips: Mapping[str, list[str]] = field(default_factory=dict)  # entity -> more IPs
    public: set[str] = field(default_factory=set)  # public addresses among scan sources
    popular: set[str] = field(default_factory=set)  # outside parties that are top sites
    allowed: Any = None  # spot_lab.detect.known.Allowlist: parties whose findings are dropped


def _category_name(score: float) -> str:
    cats = thresholds()["categories"]
    if score >= cats["high"]:
        return "high"
    if score >= cats["medium"]:
        return "medium"
    if score >= cats["low"]:
        return "low"
    return "none"


def _modifiers(kind: str, entity: str, externals: set[str], detectors: set[str],
               mods: Modifiers) -> dict[str, float]:  # fmt: skip
    s = thresholds()["severity"]
    out: dict[str, float] = {}
    if externals and mods.internal_count >= s["prevalence_min_hosts"]:
        share = max(mods.prevalence.get(x, 0) for x in externals) / mods.internal_count
        if share <= s["prevalence_increase_below"]:
            out["prevalence"] = s["prevalence_increase"]
        elif share >= s["prevalence_decrease_above"]:
            out["prevalence"] = -s["prevalence_decrease"]
    if externals and mods.history and mods.day is not None:
        seen = [mods.first_day[x] for x in externals if x in mods.first_day]
        if not seen:
            out["first_seen"] = s["first_seen_increase"]
        else:
            first = dt.date(min(seen) // 10000, min(seen) // 100 % 100, min(seen) % 100)
            if (mods.day - first).days >= s["history_days"]:
                out["first_seen"] = -s["first_seen_decrease"]
    if externals & mods.popular:
        out["popular"] = -s["popular_decrease"]
    if kind == "domain" and entity in mods.unreached:
        out["no_direct_connection"] = s["no_direct_connection"]
    if len(detectors) > 1:
        out["corroboration"] = min(
            s["corroboration_max"], s["corroboration"] * (len(detectors) - 1)
        )
    if detectors - {"lda"} == {"scan"} and s["inbound_internet"]:
        if entity in mods.public:
            out["inbound_internet"] = s["inbound_internet"]
        else:
            out["internal_scan"] = s["internal_scan"]
    return out


def _parties(finding: dict) -> set[str]:
    """The IPs and names a finding accuses: its outside party and its entity's ends."""
    entity, kind = finding["entity"], finding["entity_kind"]
    ends = entity.split(" -> ") if kind == "pair" else [entity]
    return {p.strip() for p in [finding["external"], *ends] if p and p.strip()}


def _widespread(party: str, mods: Modifiers, s: Mapping) -> bool:
    """At least RITA's prevalence-decrease share of the internal hosts reach the party."""
    if mods.internal_count < s["prevalence_min_hosts"]:
        return False
    return mods.prevalence.get(party, 0) / mods.internal_count >= s["prevalence_decrease_above"]


def _known_good(finding: dict, mods: Modifiers, s: Mapping) -> bool:
    """Allowlisted parties (SpotLab.allowlist, known_services.yaml), and the beacons of an
    application to a top site or to a party most of the network reaches (its heartbeat), are
    not threats."""
    if mods.allowed and any(p in mods.allowed for p in _parties(finding)):
        return True
    if finding["detector"] not in s["popular_heartbeats"]:
        return False
    party = finding["external"]
    return party in mods.popular or _widespread(party, mods, s)


def _weak_lead(base: float, externals: set[str], detectors: set[str], mod: Mapping,
               mods: Modifiers, s: Mapping) -> bool:  # fmt: skip
    """Severity `weak_leads`: one detector in RITA's lowest band about an outside party that
    nothing marks out (not rare, not new, no second detector), on a day with enough internal
    hosts for RITA's prevalence share to be one host or more."""
    if not s["weak_leads"] or not externals or base >= thresholds()["categories"]["low"]:
        return False
    if mods.internal_count * s["prevalence_increase_below"] < 1 or len(detectors - {"lda"}) > 1:
        return False
    return not any(mod.get(k, 0) > 0 for k in ("prevalence", "first_seen", "no_direct_connection"))


def _join(values, limit: int | None = None) -> str:
    seen = dict.fromkeys(v for text in values for v in (text or "").split() if v)
    items = list(seen)
    return " ".join(items if limit is None else items[:limit])


def _stamp(ts: int) -> str:
    if not ts:
        return ""
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def combine(findings: pa.Table, mods: Modifiers) -> pa.Table:
    """One row per (entity_kind, entity), with `<type>_threats`' columns, ranked."""
    s, limit = thresholds()["severity"], thresholds()["limits"]["names_per_threat"]
    groups: dict[tuple[str, str], dict[str, dict]] = {}
    for f in findings.to_pylist():  # a few thousand findings at most
        if _known_good(f, mods, s):
            continue
        best = groups.setdefault((f["entity_kind"], f["entity"]), {})
        if f["detector"] not in best or f["score"] > best[f["detector"]]["score"]:
            best[f["detector"]] = f
    rows = []
    for (kind, entity), best in groups.items():
        items = sorted(best.values(), key=lambda f: (-f["score"], f["detector"]))
        base = items[0]["score"]
        if base < s["min_severity"] or (set(best) == {"lda"} and not s["lda_alone"]):
            continue
        # the outside parties the detectors name (the model's rows name any peer, internal too)
        externals = {f["external"] for f in items if f["external"] and f["detector"] != "lda"}
        # the model alone only corroborates: its rows get no modifiers
        mod = _modifiers(kind, entity, externals, set(best), mods) if set(best) != {"lda"} else {}
        severity = max(0.0, base + sum(mod.values()))
        if severity < s["min_severity"] or _weak_lead(base, externals, set(best), mod, mods, s):
            continue
        ips = _join([f["ips"] for f in items] + [" ".join(mods.extra_ips.get(entity, []))])
        rows.append({
            "entity": entity, "entity_kind": kind, "severity": round(severity, 4),
            "category": _category_name(base), "base_score": base,
            "modifiers": json.dumps(mod, sort_keys=True), "ips": ips,
            "names": _join((f["names"] for f in items), limit),
            "detectors": json.dumps([{"detector": f["detector"], "score": f["score"],
                                      "numbers": json.loads(f["numbers"]), "summary": f["summary"]}
                                     for f in items]),
            "summary": items[0]["summary"], "events": max(f["events"] for f in items),
            "first_seen": _stamp(min((f["first_ts"] for f in items if f["first_ts"]), default=0)),
            "last_seen": _stamp(max(f["last_ts"] for f in items)),
            "n_detectors": len(items),
        })  # fmt: skip
    rows.sort(key=lambda r: (-r["severity"], -r["base_score"], -r["events"], r["entity"]))
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    return rows


def to_table(data_type: str, rows: list[dict]) -> pa.Table:
    name = f"{data_type}_threats"
    if not rows:
        return TABLES[name].arrow_schema.empty_table()
    return to_arrow(TABLES[name], pa.Table.from_pylist(rows))
