"""Spot's LDA model as one detector among the others: the day's flagged rows (`<type>_scores`,
already in memory after the model ran) grouped per entity: the pair for flows, the registered
domain for DNS, the web host for proxy. Its category score runs from RITA's "none" (0.2, the
last flagged row) to 0.3 (the first), halfway to "low": the model alone never outranks a
detector that measured something (a day's 3,000 flagged rows would otherwise bury them),
but it corroborates one."""

from __future__ import annotations

import pyarrow as pa

from spot_lab.detect.base import category, empty_findings, findings
from spot_lab.detect.names import registered_domain

_COLUMNS = {
    "flow": ("srcip", "dstip", "tstart"),
    "dns": ("ip_dst", "dns_qry_name", "unix_tstamp"),
    "proxy": ("clientip", "host", "time"),
}
SUMMARY = "Spot's LDA flagged {rows:,} of its events (best rank {best_rank:,} of {flagged:,}, model score {ml_score:.3g})"


def _entity(data_type: str, client: str, other: str) -> tuple[str, str, str, str, str]:
    """(entity, kind, ips, names, external)."""
    if data_type == "flow":
        return f"{client} -> {other}", "pair", f"{client} {other}", "", other
    if data_type == "dns":
        domain = registered_domain(other)
        return domain, "domain", client, domain, domain
    host = (
        (other or "").lower().rsplit(":", 1)[0] if ":" in (other or "") else (other or "").lower()
    )
    return host, "web_host", client, host, host


def lda(data_type: str, scores: pa.Table | None) -> pa.Table:
    if scores is None or scores.num_rows == 0:
        return empty_findings()
    client_col, other_col, _ = _COLUMNS[data_type]
    flagged = scores.num_rows
    groups: dict[tuple[str, str], dict] = {}
    cols = scores.select([client_col, other_col, "ml_score"]).to_pylist()
    for rank, row in enumerate(cols, 1):  # the rows come sorted by the model, best first
        entity, kind, ips, names, external = _entity(data_type, row[client_col], row[other_col])
        g = groups.setdefault((kind, entity), {
            "entity": entity, "entity_kind": kind, "ips": "", "names": names,
            "external": external, "rows": 0, "best_rank": rank, "ml_score": row["ml_score"],
            "flagged": flagged, "events": 0})  # fmt: skip
        g["rows"] += 1
        g["events"] += 1
        g.setdefault("_ips", {}).update(dict.fromkeys(ips.split()))
    for g in groups.values():
        g["ips"] = " ".join(g.pop("_ips", {}))
    none = category("none")
    low = none + (category("low") - none) / 2
    return findings(
        "lda", list(groups.values()), template=SUMMARY,
        score_of=lambda g: none + (low - none) * (1 - (g["best_rank"] - 1) / max(flagged, 1)),
        numbers=("rows", "best_rank", "ml_score", "flagged"),
    )  # fmt: skip
