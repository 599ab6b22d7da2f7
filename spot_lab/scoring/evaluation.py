"""Evaluation of a ranking against a generated lake's ground_truth.json (never used by the
model or the detectors themselves).

What is ranked, per data type T and day:
- `threats`: the triage list `T_threats` (rank 1 = most severe), each row judged by its
  entity: a host's IP, both ends of a pair (IPs, or an IP and a DNS name), a registered
  domain or a web host (the `ips` and `names` columns only add context: a domain's clients,
  example names; they are not what the row accuses);
- `lda`: Spot's flagged rows `T_scores` in Spot's order (flow by `rank`, DNS and proxy by
  ascending `ml_score`); a row's IPs and names are flow srcip/dstip; DNS ip_dst and
  dns_qry_name; proxy clientip and the host of fulluri.

Matching, precisely:
- a name is compared lower-cased without a trailing dot; its *terms* are the name itself and
  its registered domain (publicsuffixlist's private suffix), when it has one;
- a scenario's anchor IPs are `anchors.ips`; its anchor terms are the terms of its
  `anchors.query_names` and of the hosts of its `anchors.uris` (the text before the first
  '/', without a ':port');
- a row *involves* a scenario when the scenario lists `anchors.pairs` and the row's IPs hold
  both ends of one pair (lateral movement: the pair is the threat, not each host), or else when
  the row's IPs meet the anchor IPs or the row's name terms meet the anchor terms;
- a scenario of type T is *found in the top K* when a row of T ranked <= K involves it; its rank
  is the best such rank;
- precision@K of T is the share of T's top-K rows that involve an attack scenario of the day
  (of any type) or name one of the hosts the attacks control (`compromised_hosts`);
- a benign look-alike *reaches the top K* when a row of its type ranked <= K involves it and no
  attack scenario.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from spot_lab.enrich.netcontext import is_ip
from spot_lab.store.lake import Lake

DATA_TYPES = ("flow", "dns", "proxy")
RANKINGS = ("threats", "lda")


@dataclass(frozen=True)
class Row:
    """One ranked row, reduced to what matching needs."""

    rank: int
    ips: frozenset[str]
    terms: frozenset[str]


@cache
def _psl():
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def name_terms(name: str) -> set[str]:
    """A name and its registered domain (when it has one), lower-cased, without a final dot."""
    name = name.strip().lower().rstrip(".")
    if not name:
        return set()
    registered = _psl().privatesuffix(name)
    return {name, registered} if registered else {name}


def uri_host(uri: str) -> str:
    """The host of a Spot fulluri (host + path + query, no scheme) or of a full URL."""
    rest = uri.split("://", 1)[-1]
    return rest.split("/", 1)[0].split("?", 1)[0].rsplit(":", 1)[0] if rest else ""


def make_row(rank: int, ips, names) -> Row:
    terms: set[str] = set()
    for name in names:
        terms |= name_terms(name)
    return Row(int(rank), frozenset(ip for ip in ips if ip), frozenset(terms))


def _split(text) -> list[str]:
    return str(text or "").split()


def ranked_rows(lake: Lake, data_type: str, day: dt.date, ranking: str, k: int) -> list[Row]:
    """The top `k` rows of `data_type` on `day` under `ranking` (see the module docstring)."""
    if ranking == "threats":
        return threat_rows(lake.read_partition(f"{data_type}_threats", day).to_pandas(), k)
    if ranking != "lda":
        raise ValueError(f"unknown ranking {ranking!r}: use one of {', '.join(RANKINGS)}")
    frame = lake.read_partition(f"{data_type}_scores", day).to_pandas()
    if frame.empty:
        return []
    order = "rank" if data_type == "flow" else "ml_score"
    frame = frame.sort_values(order, kind="stable").head(k).reset_index(drop=True)
    if data_type == "flow":
        cols = zip(frame["srcip"], frame["dstip"], strict=True)
        return [make_row(i + 1, ips, []) for i, ips in enumerate(cols)]
    if data_type == "dns":
        cols = zip(frame["ip_dst"], frame["dns_qry_name"], strict=True)
        return [make_row(i + 1, [ip], [name]) for i, (ip, name) in enumerate(cols)]
    cols = zip(frame["clientip"], frame["fulluri"], strict=True)
    return [make_row(i + 1, [ip], [uri_host(uri)]) for i, (ip, uri) in enumerate(cols)]


def entity_parts(entity: str, kind: str) -> tuple[list[str], list[str]]:
    """The IPs and names that *are* a threat's entity: a host's address, both ends of a pair
    (an IP or a name each), a domain's or web host's name. Not the clients and examples the
    `ips` and `names` columns add for context: a popular domain's row lists up to 100
    clients, and would otherwise "involve" every attack whose host once resolved it."""
    if kind == "pair":
        sides = [s.strip() for s in entity.split(" -> ")]
        return [s for s in sides if is_ip(s)], [s for s in sides if s and not is_ip(s)]
    if kind == "host":
        return [entity], []
    return [], [entity]


def threat_rows(frame, k: int) -> list[Row]:
    """The rows ranked <= `k` of a triage-list frame: matched on their entity (entity,
    entity_kind; see `entity_parts`), or on the ips and names columns for a frame without one."""
    if frame.empty:
        return []
    frame = frame[frame["rank"] <= k].sort_values("rank", kind="stable")
    if "entity_kind" not in frame.columns:
        return [make_row(r, _split(i), _split(n))
                for r, i, n in zip(frame["rank"], frame["ips"], frame["names"], strict=True)]  # fmt: skip
    return [make_row(r, *entity_parts(str(e), str(kind)))
            for r, e, kind in zip(frame["rank"], frame["entity"], frame["entity_kind"], strict=True)]  # fmt: skip


@dataclass(frozen=True)
class Anchors:
    """What ties a row to one scenario."""

    ips: frozenset[str]
    terms: frozenset[str]
    pairs: tuple[frozenset[str], ...]

    @classmethod
    def of(cls, scenario: dict) -> Anchors:
        anchors = scenario["anchors"]
        terms: set[str] = set()
        for name in [*anchors.get("query_names", []), *map(uri_host, anchors.get("uris", []))]:
            terms |= name_terms(name)
        pairs = tuple(frozenset(p) for p in anchors.get("pairs", []) if len(set(p)) == 2)
        return cls(frozenset(anchors.get("ips", [])), frozenset(terms), pairs)

    def involved_in(self, row: Row) -> bool:
        if self.pairs:
            return any(pair <= row.ips for pair in self.pairs)
        return bool(row.ips & self.ips) or bool(row.terms & self.terms)


def scenarios_of(lake: Lake, day: dt.date) -> list[dict]:
    truth = json.loads((lake.root / "ground_truth.json").read_text())["scenarios"]
    return [s for s in truth if s.get("date") in (None, str(day))]


def evaluate_day(lake_root: str | Path, day: dt.date, ranking: str = "threats",
                 k: int = 50) -> dict:  # fmt: skip
    """Per scenario of `day`: found in the top k and its rank; per type: precision@k; the
    benign look-alikes that reach the top k. See the module docstring for the rules."""
    lake = Lake(lake_root)
    tops = {t: ranked_rows(lake, t, day, ranking, k) for t in DATA_TYPES}
    return judge(tops, scenarios_of(lake, day))


def judge(tops: dict[str, list[Row]], truth: list[dict]) -> dict:
    """Judge ranked rows (per type, already cut to the top k) against ground-truth records."""
    attacks = [(s, Anchors.of(s)) for s in truth if not s.get("benign")]
    controlled = frozenset(h for s, _ in attacks for h in s.get("compromised_hosts", []))

    def attack_row(row: Row) -> bool:
        return bool(row.ips & controlled) or any(a.involved_in(row) for _, a in attacks)

    out = []
    for s in truth:
        anchors = Anchors.of(s)
        ranks = [r.rank for r in tops[s["data_type"]] if anchors.involved_in(r)
                 and (not s.get("benign") or not attack_row(r))]  # fmt: skip
        out.append({"name": s["name"], "type": s["data_type"], "benign": bool(s.get("benign")),
                    "found": bool(ranks), "rank": min(ranks) if ranks else None})  # fmt: skip
    precision = {t: (sum(map(attack_row, rows)) / len(rows) if rows else None)
                 for t, rows in tops.items()}  # fmt: skip
    return {"scenarios": out, "precision": precision,
            "rows": {t: len(rows) for t, rows in tops.items()}}  # fmt: skip


def scenario_hits(lake_root: str | Path, day: dt.date, k: int = 50,
                  ranking: str = "lda") -> list[dict]:  # fmt: skip
    """One record per attack scenario of `day`: name, type, found in the top k, rank."""
    result = evaluate_day(lake_root, day, ranking, k)
    return [s for s in result["scenarios"] if not s["benign"]]


def precision_at(lake_root: str | Path, day: dt.date, data_type: str, k: int = 50,
                 ranking: str = "lda") -> float | None:  # fmt: skip
    """Share of the top-k rows of a type that involve an attack (None: nothing ranked)."""
    return evaluate_day(lake_root, day, ranking, k)["precision"][data_type]
