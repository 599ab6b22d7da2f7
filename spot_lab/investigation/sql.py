"""The investigation's SQL (queries/investigation.yaml) with its fragments spliced in.

Fragments are SQL that spot-lab writes (predicates, relation names); values are always bound.
Each query that reads days declares which day predicate it needs (`days:` in the YAML).
"""

from __future__ import annotations

from spot_lab import queries
from spot_lab.store.lake import WORK_PREFIX

# The anchor's flows on the embedded engine: a temp table of the engine's own connection
# (one investigation at a time per connection). A fixed name keeps the SQL of every
# aggregate the same from run to run, so each is parsed and rendered once per process.
ROWS_TABLE = WORK_PREFIX + "threat_rows"

ANCHOR_FRAGMENTS = {
    ("flow", "ip"): "anchor_flow_ip",
    ("dns", "ip"): "anchor_dns_client",
    ("dns", "name"): "anchor_dns_name",
    ("proxy", "uri"): "anchor_proxy_uri",
    ("proxy", "ip"): "anchor_proxy_client",
    ("proxy", "host"): "anchor_proxy_host",
}
_DAYS = {"flow": "days_flow", "dns": "days_dns", "proxy": "days_proxy", "oa": "days_oa"}


def query_sql(query: str, *, anchor: str = "", rows: str | None = None, **fragments: str) -> str:
    """The named query with its fragments spliced in (never values: those are bound).

    {rows} is the anchor's flows (the `rows` temp table, else pushdown-friendly scans), {days}
    the day predicate the query declares, {anchor} the `anchor` fragment."""
    entry = queries.library("investigation")[query]
    text = entry["sql"]
    if "{rows}" in text:
        text = text.replace("{rows}", rows or queries.sql("investigation", "rows_flow_ip"))
    if "{days}" in text:
        fragments.setdefault("days", queries.sql("investigation", _DAYS[entry["days"]]))
    if anchor:
        fragments.setdefault("anchor", queries.sql("investigation", anchor))
    return queries.splice(text, **fragments)
