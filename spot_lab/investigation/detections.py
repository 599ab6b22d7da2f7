"""The Why from the detectors: the day's triage-list threats (`<type>_threats`, written by
`spot-lab score`) that name the anchor, each detector that fired on them with its summary
and numbers, as evidence lines (rules.yaml `detectors` names the items). The same numbers
the threats list ranks by are the ones the report cites: one source of truth."""

from __future__ import annotations

import json

from spot_lab.detect.names import registered_domain


def _like_words(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"% {escaped} %"


def _params(value: str, kind: str) -> dict[str, str]:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    domain = registered_domain(value) if kind == "name" else value
    host = value.split("/", 1)[0] if kind == "uri" else value
    return {"needle": host, "domain": domain, "needle_words": _like_words(host),
            "needle_pair_a": f"{escaped} -> %", "needle_pair_b": f"% -> {escaped}"}  # fmt: skip


def detector_evidence(run) -> None:
    """Add one evidence line per detector of each threat naming the anchor (most severe first)."""
    r, t = run.report, run.target
    threats = run.optional("threats_of_anchor", _params(t.value, t.kind),
                           table=f"{t.data_type}_threats")  # fmt: skip
    if threats.empty:
        return
    labels = run.evidence.rules_of("detectors")
    r.threats = threats.drop(columns=["detectors"])
    for row in threats.itertuples():
        day = f"{int(row.y):04d}-{int(row.m):02d}-{int(row.d):02d}"
        for found in json.loads(row.detectors or "[]"):
            item = labels.get(found["detector"], found["detector"])
            detail = f"{row.entity} (threat #{row.rank} of {day}): {found['summary']}"
            r.add_evidence(item, round(float(found["score"]), 3), detail, True)
