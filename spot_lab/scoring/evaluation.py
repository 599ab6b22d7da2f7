"""Evaluation against a generated lake's ground_truth.json (never used by the model itself).

A scenario is found when one of its anchors is among the top `k` flagged rows of its type
or the top `k` threats of its type's triage list (`<type>_threats`, spot_lab.detect):
flow - an anchor IP as srcip or dstip of flow_scores; dns - an anchor query name or client
IP in dns_scores; proxy - an anchor URI in proxy_scores; a threat naming an anchor among its
IPs, names or entity (a query name or URI host under a flagged registered domain).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from spot_lab.store.lake import Lake


def _top(lake: Lake, table: str, day: dt.date, k: int, order: str) -> list[dict]:
    rows = lake.read_partition(table, day).to_pandas()
    if rows.empty:
        return []
    rows = rows.sort_values(order, ascending=order != "score", kind="stable")
    return rows.head(k).to_dict("records")


def _scenarios(lake: Lake) -> list[dict]:
    return json.loads((lake.root / "ground_truth.json").read_text())["scenarios"]


def _ranks(kind: str, top: list[dict], ips: set, names: set, uris: set) -> list[int]:
    """Positions in `top` (rows of `<kind>_scores` or flow_beacons) matching the anchors."""
    if kind == "flow":
        return [i for i, r in enumerate(top) if {r["srcip"], r["dstip"]} & ips]
    if kind == "dns":
        return [i for i, r in enumerate(top) if r["dns_qry_name"] in names or r["ip_dst"] in ips]
    return [i for i, r in enumerate(top) if r["fulluri"] in uris]


def _threat_ranks(top: list[dict], ips: set, names: set, uris: set) -> list[int]:
    """Positions in the triage list (`<kind>_threats`) naming an anchor: among the threat's
    IPs, names or entity; a query name or URI host under a flagged registered domain."""
    hosts = {u.split("/", 1)[0] for u in uris}
    out = []
    for i, r in enumerate(top):
        words = set((r["ips"] or "").split()) | set((r["names"] or "").split())
        words |= set(r["entity"].split(" -> "))
        under = any(n == r["entity"] or n.endswith("." + r["entity"]) for n in names | hosts)
        if words & (ips | names | hosts) or under:
            out.append(i)
    return out


def _scores_top(lake: Lake, data_type: str, day: dt.date, k: int) -> list[dict]:
    order = "rank" if data_type == "flow" else "ml_score"
    return _top(lake, f"{data_type}_scores", day, k, order)


def scenario_hits(lake_root: str | Path, day: dt.date, k: int = 50) -> list[dict]:
    """One record per injected scenario of `day`: name, type, found, first rank (or None)."""
    lake = Lake(lake_root)
    tops = {t: [_scores_top(lake, t, day, k)] for t in ("flow", "dns", "proxy")}
    threats = {t: _top(lake, f"{t}_threats", day, k, "rank") for t in ("flow", "dns", "proxy")}
    out = []
    for s in _scenarios(lake):
        if s.get("date") not in (None, str(day)):
            continue
        kind, anchors = s["data_type"], s["anchors"]
        ips, names, uris = set(anchors["ips"]), set(anchors["query_names"]), set(anchors["uris"])
        ranks = [i for top in tops[kind] for i in _ranks(kind, top, ips, names, uris)]
        ranks += _threat_ranks(threats[kind], ips, names, uris)
        out.append({"name": s["name"], "type": kind, "found": bool(ranks),
                    "rank": min(ranks) if ranks else None})  # fmt: skip
    return out


def precision_at(lake_root: str | Path, day: dt.date, data_type: str, k: int = 50) -> float:
    """Share of the top-k flagged rows of a type that belong to some injected scenario."""
    lake = Lake(lake_root)
    ips, names, uris = set(), set(), set()
    for s in _scenarios(lake):
        if s["data_type"] == data_type:
            ips |= set(s["anchors"]["ips"]) | set(s["internal_hosts"])
        names |= set(s["anchors"]["query_names"])
        uris |= set(s["anchors"]["uris"])
    top = _scores_top(lake, data_type, day, k)
    return len(_ranks(data_type, top, ips, names, uris)) / len(top) if top else 0.0
