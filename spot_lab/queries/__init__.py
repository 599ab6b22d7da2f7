"""spot-lab's SQL, kept as data: one YAML file per concern in this folder.

Each file maps a query name to canonical SQL (DuckDB dialect, `:name` parameters, see
spot_lab.engines.sqltools), optionally with a description:

    peers_of_ip:
      description: Spot's expanded search for one IP (reference 2.3)
      sql: |
        SELECT ... FROM flow WHERE (sip = :ip OR dip = :ip) AND ...

Use `sql("investigation", "peers_of_ip")`; engines translate it to their dialect.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml


@cache
def library(concern: str) -> dict[str, dict]:
    text = resources.files(__package__).joinpath(f"{concern}.yaml").read_text()
    entries = yaml.safe_load(text) or {}
    return {name: (e if isinstance(e, dict) else {"sql": e}) for name, e in entries.items()}


def sql(concern: str, name: str) -> str:
    try:
        return library(concern)[name]["sql"]
    except KeyError:
        raise KeyError(f"no query {name!r} in spot_lab/queries/{concern}.yaml") from None


def render(concern: str, name: str, **fragments: str) -> str:
    """The query with its {fragment} slots filled with SQL text spot-lab writes (relation names,
    column lists, other queries); never user values, which are always bound parameters."""
    return splice(sql(concern, name), **fragments)


def splice(text: str, **fragments: str) -> str:
    for key, value in fragments.items():
        text = text.replace("{" + key + "}", value)
    return text
