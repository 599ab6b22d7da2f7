"""Mappings as data: one YAML per source (spot_lab/ingest/mappings/) says, for every column
of its Spot table, which source fields feed it and through which named conversion
(mappings/conversions.yaml, SQL templates for DuckDB and Spark). This module loads and
checks them; spot_lab.ingest.sql renders them. Nothing here knows a particular source.

A column spec is `null` (the source has no such value), `{value: literal}`, or
`{from: input | [inputs], convert: name, args: [literals]}` where an input is a source field
of `fields:`, `$time` / `$ts` (the event time as epoch seconds / UTC timestamp) or
`$column` (another column of the same mapping, e.g. fulluri from uripath).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from spot_lab.errors import InputError
from spot_lab.store.schema import TABLES

MAPPINGS_DIR = Path(__file__).parent / "mappings"
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
TIME_INPUTS = ("$time", "$ts")
# Source field types: Zeek's type names, used by every mapping (SQL type per engine).
SCALAR_TYPES = {
    "time": ("DOUBLE", "DOUBLE"),
    "interval": ("DOUBLE", "DOUBLE"),
    "double": ("DOUBLE", "DOUBLE"),
    "count": ("BIGINT", "BIGINT"),
    "int": ("BIGINT", "BIGINT"),
    "port": ("INTEGER", "INT"),
    "addr": ("VARCHAR", "STRING"),
    "subnet": ("VARCHAR", "STRING"),
    "string": ("VARCHAR", "STRING"),
    "enum": ("VARCHAR", "STRING"),
    "bool": ("BOOLEAN", "BOOLEAN"),
}
LIST_PREFIXES = ("vector[", "set[", "table[")


def is_list(field_type: str) -> bool:
    return field_type.startswith(LIST_PREFIXES)


def sql_type(field_type: str, dialect: str) -> str:
    """The engine's SQL type of a source field type (lists are lists of text)."""
    if is_list(field_type):
        return "VARCHAR[]" if dialect == "duckdb" else "ARRAY<STRING>"
    return SCALAR_TYPES[field_type][0 if dialect == "duckdb" else 1]


@dataclass(frozen=True)
class Spec:
    """How one output column is computed; `inputs` are field names or $-references."""

    inputs: tuple[str, ...] = ()
    convert: str = "same"
    value: Any = None
    args: tuple[str, ...] = ()
    null: bool = False

    @classmethod
    def parse(cls, raw: Any, where: str) -> Spec:
        if raw is None:
            return cls(null=True)
        if not isinstance(raw, dict) or not ({"from", "value"} & raw.keys()):
            raise InputError(
                f"{where}: expected null, {{value: ...}} or {{from: ..., convert: ...}}"
            )
        if "value" in raw:
            return cls(value=raw["value"])
        inputs = raw["from"] if isinstance(raw["from"], list) else [raw["from"]]
        args = tuple(str(a) for a in raw.get("args", ()))
        return cls(tuple(str(i) for i in inputs), str(raw.get("convert", "same")), None, args)


@dataclass(frozen=True)
class Mapping:
    """One source's mapping onto one Spot (or spot-lab) table."""

    name: str
    source: str  # the format family detect.py names (zeek, suricata, nfdump, ...)
    kind: str  # the log kind within the family (conn, dns, http, flow, access...)
    table: str
    sensor: str
    fields: dict[str, str]  # source field -> type
    time: Spec
    columns: dict[str, Spec]  # output column -> spec, the table's columns then extensions
    required: tuple[str, ...] = ()
    skip: tuple[tuple[Spec, str], ...] = ()
    route: dict[str, str] = field(default_factory=dict)  # field -> value selecting the rows
    pattern: str | None = None  # line regex (squid), groups in `fields` order
    default_fields: tuple[str, ...] = ()  # field order of a log without a header


def _yaml(text: str) -> Any:
    """Safe YAML through libyaml when PyYAML has it: the pure-Python loader took 0.08 s of
    every ingest's start for the 14 mapping files."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@functools.lru_cache(maxsize=1)
def conversions() -> dict[str, dict[str, str]]:
    raw = _yaml((MAPPINGS_DIR / "conversions.yaml").read_text())
    out = {}
    for name, spec in raw.items():
        out[name] = {**_lookup(spec["lookup"]), **spec} if "lookup" in spec else spec
    return out


def _lookup(spec: dict) -> dict[str, str]:
    """A conversion from a text code to its number, from one of spot-lab's IANA tables."""
    with open(DATA_DIR / spec["file"], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    pairs = []
    for row in rows:
        key, value = row[spec["key"]].strip(), row[spec["value"]].strip()
        if key and value.lstrip("-").isdigit() and int(value) >= 0:
            pairs.append((key.upper(), int(value)))
    cases = " ".join(f"WHEN '{k}' THEN {v}" for k, v in dict(pairs).items() if "'" not in k)
    template = f"CASE upper(coalesce({{*}})) {cases} END"  # the first input present
    return {"duckdb": template, "spark": template}


def load(path: Path) -> Mapping:
    """Read and check one mapping file; InputError naming the file and the problem."""
    where = path.name
    try:
        raw = _yaml(path.read_text())
        fields = {str(k): str(v) for k, v in raw["fields"].items()}
        table = TABLES[raw["table"]]
        specs = {**raw["columns"], **raw.get("extensions", {})}
        columns = {name: Spec.parse(specs.get(name), f"{where}: {name}") for name in specs}
        mapping = Mapping(
            name=path.stem, source=raw["source"], kind=str(raw["kind"]), table=table.name,
            sensor=raw["sensor"], fields=fields, time=Spec.parse(raw["time"], f"{where}: time"),
            columns=columns, required=tuple(raw.get("required", ())),
            skip=tuple((Spec.parse(s["when"], where), s["reason"]) for s in raw.get("skip", ())),
            route={str(k): str(v) for k, v in raw.get("route", {}).items()},
            pattern=raw.get("pattern"), default_fields=tuple(raw.get("default_fields", ())),
        )  # fmt: skip
    except (KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
        raise InputError(f"mapping {where} is malformed ({exc}): fix the file") from None
    _check(mapping, where)
    return mapping


def _check(m: Mapping, where: str) -> None:
    tbl = TABLES[m.table]
    expected = tbl.column_names + [c.name for c in tbl.extensions]
    listed = [c for c in m.columns if c in tbl.column_names]
    if listed != tbl.column_names:
        missing = sorted(set(tbl.column_names) - set(m.columns))
        raise InputError(f"mapping {where} must list every {m.table} column in order: {missing}")
    unknown = sorted(set(m.columns) - set(expected))
    if unknown:
        raise InputError(f"mapping {where}: {unknown} are not columns of {m.table}")
    for name, ftype in m.fields.items():
        if ftype not in SCALAR_TYPES and not is_list(ftype):
            raise InputError(f"mapping {where}: field {name} has unknown type {ftype!r}")
    known = conversions()
    specs = [m.time, *m.columns.values(), *(s for s, _ in m.skip)]
    for spec in specs:
        if not spec.null and spec.value is None and spec.convert not in known:
            raise InputError(f"mapping {where}: unknown conversion {spec.convert!r}")
        for name in spec.inputs:
            ok = name in m.fields or name in TIME_INPUTS or name[1:] in m.columns
            if not ok:
                raise InputError(f"mapping {where}: {name!r} is neither a field nor a column")
    for name in m.required:
        if name not in m.fields:
            raise InputError(f"mapping {where}: required field {name!r} is not in fields")


@functools.lru_cache(maxsize=1)
def all_mappings() -> dict[str, Mapping]:
    return {p.stem: load(p) for p in sorted(MAPPINGS_DIR.glob("*.yaml")) if p.stem != "conversions"}


def for_source(source: str, kind: str | None = None) -> list[Mapping]:
    """The mappings of a format family (and log kind), in file order."""
    return [
        m
        for m in all_mappings().values()
        if m.source == source and (kind is None or m.kind == kind)
    ]


def kinds(source: str) -> list[str]:
    return sorted({m.kind for m in all_mappings().values() if m.source == source})
