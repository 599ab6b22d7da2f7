"""Evaluation against a generated lake's ground_truth.json (never used by the model itself).

A scenario is found when one of its anchors is among the top `k` flagged rows of its type:
flow - an anchor IP as srcip or dstip of flow_scores, or as srcip/dstip of flow_beacons
(the beacon detector is part of flow scoring); dns - an anchor query name or client IP in
dns_scores; proxy - an anchor URI in proxy_scores.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from ..lake import Lake


def _top(lake: Lake, table: str, day: dt.date, k: int, order: str) -> list[dict]:
    rows = lake.read_partition(table, day).to_pandas()
    if rows.empty:
        return []
    rows = rows.sort_values(order, ascending=order != "score", kind="stable")
    return rows.head(k).to_dict("records")


def scenario_hits(lake_root: str | Path, day: dt.date, k: int = 50) -> list[dict]:
    """One record per injected scenario of `day`: name, type, found, first rank (or None)."""
    lake = Lake(lake_root)
    truth = json.loads((lake.root / "ground_truth.json").read_text())
    out = []
    for s in truth["scenarios"]:
        if s.get("date") not in (None, str(day)):
            continue
        kind, anchors = s["data_type"], s["anchors"]
        ips, names, uris = set(anchors["ips"]), set(anchors["query_names"]), set(anchors["uris"])
        if kind == "flow":
            tops = [
                _top(lake, "flow_scores", day, k, "rank"),
                _top(lake, "flow_beacons", day, k, "score"),
            ]
            ranks = [i for top in tops for i, r in enumerate(top) if {r["srcip"], r["dstip"]} & ips]
        elif kind == "dns":
            top = _top(lake, "dns_scores", day, k, "ml_score")
            ranks = [
                i for i, r in enumerate(top) if r["dns_qry_name"] in names or r["ip_dst"] in ips
            ]
        else:
            top = _top(lake, "proxy_scores", day, k, "ml_score")
            ranks = [i for i, r in enumerate(top) if r["fulluri"] in uris]
        out.append({"name": s["name"], "type": kind, "found": bool(ranks),
                    "rank": min(ranks) if ranks else None})  # fmt: skip
    return out


def precision_at(lake_root: str | Path, day: dt.date, data_type: str, k: int = 50) -> float:
    """Share of the top-k flagged rows of a type that belong to some injected scenario."""
    lake = Lake(lake_root)
    truth = json.loads((lake.root / "ground_truth.json").read_text())
    ips, names, uris = set(), set(), set()
    for s in truth["scenarios"]:
        ips |= (
            set(s["anchors"]["ips"]) | set(s["internal_hosts"])
            if s["data_type"] == data_type
            else set()
        )
        names |= set(s["anchors"]["query_names"])
        uris |= set(s["anchors"]["uris"])
    order = "rank" if data_type == "flow" else "ml_score"
    top = _top(lake, f"{data_type}_scores", day, k, order)
    if not top:
        return 0.0
    if data_type == "flow":
        good = [r for r in top if {r["srcip"], r["dstip"]} & ips]
    elif data_type == "dns":
        good = [r for r in top if r["dns_qry_name"] in names or r["ip_dst"] in ips]
    else:
        good = [r for r in top if r["fulluri"] in uris]
    return len(good) / len(top)
