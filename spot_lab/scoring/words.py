"""Spot's word recipes (reference 5.3 to 5.5) as engine SQL, composed from scoring.yaml.

Everything runs in the engine: validity filters, bins, domain parsing, entropy and the
(document, word) counts. Python only chooses which fragments to compose and binds the
lookup lists (country codes, generic TLDs, popular domains, the user's domain).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from typing import Any

from spot_lab import queries
from spot_lab.engines import worktables
from spot_lab.store.schema import day_partition

GENERIC_TLDS = ("com", "org", "net", "int", "edu", "gov", "mil")  # Spot's TopLevelDomainNames


def q(name: str, **parts: str) -> str:
    """A scoring.yaml fragment with its {placeholders} replaced by SQL text/relation names."""
    return queries.render("scoring", name, **parts).strip()


@cache
def _word_list(filename: str) -> tuple[str, ...]:
    text = resources.files("spot_lab.data").joinpath(filename).read_text(encoding="utf-8")
    return tuple(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def country_codes() -> tuple[str, ...]:
    return _word_list("country-codes.txt")


def top_domains() -> tuple[str, ...]:
    return _word_list("top-domains.txt")


def day_params(data_type: str, day: dt.date) -> dict[str, Any]:
    """Partition values of one day of the raw `data_type` table."""
    return day_partition(data_type, day)


def lookup_params(user_domain: str) -> dict[str, Any]:
    return {
        "country_codes": list(country_codes()),
        "generic_tlds": list(GENERIC_TLDS),
        "top_domains": list(top_domains()),
        # An unset user domain must match nothing (Spot's "" never equals a parsed domain).
        "user_domain": user_domain.strip().lower() or "\x00none",
    }


def events_sql(data_type: str) -> str:
    """One day of valid events of `data_type` (params :y :m :d)."""
    return q(f"{data_type}_events")


def feedback_events_sql(data_type: str, source: str, day_events: str) -> str:
    """Analyst-Low feedback rows of relation `source` as events (agent counts from the day)."""
    return q(f"{data_type}_feedback_events", source=source, events=day_events)


def words_sql(data_type: str, events: str, domains: str = "", entropies: str = "") -> str:
    """The events of relation/subquery `events` with their word column(s); `domains` and
    `entropies` are the staged `domains_sql` and `entropies_sql` (inline by default)."""
    if data_type == "flow":
        return q("flow_words", events=events)
    domains = domains or "(" + domains_sql(data_type, events) + ")"
    entropies = entropies or "(" + entropies_sql(data_type, events, domains) + ")"
    return q(f"{data_type}_words", events=events, domains=domains, entropies=entropies)


def domains_sql(data_type: str, events: str) -> str:
    """Spot's domain parts of each distinct DNS query name or proxy host of `events`."""
    name_col = "dns_qry_name" if data_type == "dns" else "host"
    return q("domain_parts", source=f"(SELECT {name_col} AS name FROM {events} AS ev)")


def entropies_sql(data_type: str, events: str, domains: str) -> str:
    """The entropy of each distinct DNS subdomain (of `domains`) or proxy URI (of `events`)."""
    if data_type == "dns":
        return q("entropy", source=f"(SELECT subdomain AS s FROM {domains} AS dd)")
    return q("entropy", source=f"(SELECT fulluri AS s FROM {events} AS ev)")


def stage_words(engine, data_type: str, events: str, name: str, params: dict[str, Any]) -> str:
    """Stage the words of relation `events` as `name`. On the embedded engine each distinct
    name's domain parts and entropy are staged first: inline, DuckDB's optimizer moves the
    domain rule's expressions below the DISTINCT onto every DNS event (a 10M-flow day's
    3.3M DNS words: 16-18 s inline, 9 s staged, measured side by side; proxy's words, whose
    entropy reads the URIs, take the same time either way). Cluster engines' stages are
    views, inlined either way."""
    if data_type == "flow" or not worktables.is_embedded(engine):
        return worktables.stage(engine, name, words_sql(data_type, events), params)
    parts = {"domains": f"{name}_domains", "entropies": f"{name}_entropies"}
    try:
        worktables.stage(engine, parts["domains"], domains_sql(data_type, events), params)
        worktables.stage(engine, parts["entropies"],
                         entropies_sql(data_type, events, parts["domains"]), params)  # fmt: skip
        return worktables.stage(engine, name, words_sql(data_type, events, **parts), params)
    finally:
        worktables.drop(engine, *parts.values())


def sides_sql(data_type: str, words: str) -> str:
    """(ip, word) rows: two per flow (source and destination side), one per DNS/proxy event."""
    return q(f"{data_type}_sides", words=words)


def counts_sql(data_type: str, words: str) -> str:
    return q("counts", sides="(" + sides_sql(data_type, words) + ")")


def day_words(engine, data_type: str, day: dt.date, user_domain: str = "") -> Any:
    """The day's events with their words, as Arrow (for inspection and tests)."""
    events = "(" + events_sql(data_type) + ")"
    params = {**day_params(data_type, day), **lookup_params(user_domain)}
    return engine.arrow(f"SELECT * FROM ({words_sql(data_type, events)}) AS wd", params)
