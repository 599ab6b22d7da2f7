"""A mapping rendered as one SQL statement, for DuckDB (the lake) or Spark SQL (--spark).

The statement reads a chunk relation `_chunk` with a `_line` column (line numbers) and
either one text column per source field (delimited logs: Zeek TSV, nfdump CSV, Blue Coat,
tshark) or one `line` column (JSON and regex logs), and returns the table's columns (then
its extension columns) plus:
  _t       the event time, epoch seconds (NULL when absent or out of range)
  _hour    floor(_t / 3600): the hour partition
  _line    the source line
  _reason  why the line is rejected (a bad value, no time, a required field missing), or NULL
  _skip    why a valid line carries no row for this table (e.g. a DNS query), or NULL
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from spot_lab.ingest.mapping import (
    TIME_INPUTS,
    Mapping,
    Spec,
    conversions,
    is_list,
    sql_type,
)
from spot_lab.store.schema import TABLES

MAX_EPOCH = 32_503_680_000  # year 3000: later (or negative) times are no event times
_PLACEHOLDER = re.compile(r"\{(\d+|\*|rest)\}")


@dataclass(frozen=True)
class Columns:
    """A delimited chunk: `present` source fields are text columns (or already typed by the
    reader: `typed`); `rest` are the header's other fields (kept in `extra`)."""

    present: tuple[str, ...]
    typed: tuple[str, ...] = ()
    rest: tuple[str, ...] = ()
    list_separator: str = ","
    empty_list: str | None = None  # Zeek's (empty)
    bool_true: str = "T"
    null_token: str | None = None  # a number written as this is no value (Zeek's '-')


@dataclass(frozen=True)
class JsonLines:
    nested: bool  # Suricata nests objects; Zeek's keys contain dots ("id.orig_h")


@dataclass(frozen=True)
class RegexLines:
    pattern: str


@dataclass
class Dialect:
    name: str  # duckdb | spark
    _cache: dict = field(default_factory=dict)

    def ident(self, name: str) -> str:
        if self.name == "duckdb":
            return '"' + name.replace('"', '""') + '"'
        return "`" + name.replace("`", "``") + "`"

    def literal(self, value) -> str:
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, (int, float)):
            return repr(value)
        text = str(value)
        if self.name == "duckdb":
            return "'" + text.replace("'", "''") + "'"
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    @property
    def text(self) -> str:
        return "VARCHAR" if self.name == "duckdb" else "STRING"

    def try_cast(self, expr: str, typ: str) -> str:
        return (
            f"TRY_CAST({expr} AS {typ})" if self.name == "duckdb" else f"try_cast({expr} AS {typ})"
        )

    def timestamp(self, seconds: str) -> str:
        micros = f"CAST(floor({seconds} * 1000000) AS BIGINT)"
        return (
            f"make_timestamp({micros})" if self.name == "duckdb" else f"timestamp_micros({micros})"
        )


def fill(template: str, args: list[str], literals: list[str]) -> str:
    def sub(match: re.Match) -> str:
        key = match.group(1)
        if key == "*":
            return ", ".join(args)
        if key == "rest":
            return ", ".join(literals)
        return args[int(key)]

    return _PLACEHOLDER.sub(sub, template)


class Renderer:
    """Renders one mapping for one dialect; `statement(layout)` is the whole query."""

    def __init__(self, mapping: Mapping, dialect: str = "duckdb") -> None:
        self.m = mapping
        self.d = Dialect(dialect)
        self.table = TABLES[mapping.table]

    # ---- the mapping layer ------------------------------------------------------------------
    def spec_expr(self, spec: Spec, seen: tuple[str, ...] = ()) -> str:
        if spec.null:
            return "NULL"
        if spec.value is not None:
            return self.d.literal(spec.value)
        args = [self.input(name, seen) for name in spec.inputs]
        template = conversions()[spec.convert][self.d.name]
        return "(" + fill(template, args, [self.d.literal(a) for a in spec.args]) + ")"

    def input(self, name: str, seen: tuple[str, ...]) -> str:
        if name == "$time":
            return "_t"
        if name == "$ts":
            return "_ts"
        if name.startswith("$"):
            column = name[1:]
            if column in seen:
                raise ValueError(f"mapping {self.m.name}: {column} refers to itself")
            return self.spec_expr(self.m.columns[column], (*seen, column))
        return self.d.ident(name)

    def output_columns(self, only: set[str] | None = None) -> list[str]:
        """The table's columns as select items (`only`: just these, for the split plan of
        spot_lab.ingest.plan)."""
        out = []
        for col in self.table.columns + self.table.extensions:
            if only is not None and col.name not in only:
                continue
            if col.name == "extra" and "extra" not in self.m.columns:
                expr = "_rest"
            elif col.name in self.m.columns:
                expr = self.spec_expr(self.m.columns[col.name], (col.name,))
            else:
                expr = "NULL"
            typ = col.duckdb_type if self.d.name == "duckdb" else col.hive_type
            out.append(f"{self.d.try_cast(expr, typ)} AS {self.d.ident(col.name)}")
        return out

    def reason(self) -> str:
        time_inputs = ", ".join(i for i in self.m.time.inputs if i not in TIME_INPUTS)
        cases = ["WHEN _bad IS NOT NULL THEN _bad",
                 f"WHEN _t IS NULL THEN {self.d.literal(f'no valid event time ({time_inputs})')}"]  # fmt: skip
        for name in self.m.required:
            cases.append(f"WHEN {self.d.ident(name)} IS NULL THEN {self.d.literal(f'no {name}')}")
        return "CASE " + " ".join(cases) + " END"

    def skip(self) -> str:
        if not self.m.skip:
            return f"CAST(NULL AS {self.d.text})"
        cases = [f"WHEN {self.spec_expr(s)} THEN {self.d.literal(r)}" for s, r in self.m.skip]
        return "CASE " + " ".join(cases) + " END"

    def statement(self, layout) -> str:
        key = (layout, self.d.name)
        if key not in self.d._cache:
            self.d._cache[key] = self._statement(layout)
        return self.d._cache[key]

    def _statement(self, layout, only: set[str] | None = None, extras: tuple[str, ...] = ()) -> str:
        """The whole query; `only` and `extras` (more select items) serve the split plan."""
        t = self.d.try_cast(self.spec_expr(self.m.time), "DOUBLE")
        bounded = f"CASE WHEN {t} >= 0 AND {t} < {MAX_EPOCH} THEN {t} END"
        items = [*self.output_columns(only), *extras, "_t",
                 "CAST(floor(_t / 3600) AS BIGINT) AS _hour", "_line",
                 f"{self.reason()} AS _reason", f"{self.skip()} AS _skip"]  # fmt: skip
        return (
            f"WITH _typed AS ({self.source(layout)}),\n"
            f"_timed AS (SELECT *, {bounded} AS _t FROM _typed),\n"
            f"_stamped AS (SELECT *, {self.d.timestamp('_t')} AS _ts FROM _timed)\n"
            "SELECT\n  " + ",\n  ".join(items) + "\nFROM _stamped"
        )

    # ---- the source layer: a chunk's text -> typed fields -----------------------------------
    def source(self, layout) -> str:
        if isinstance(layout, Columns):
            return self._columns(layout)
        if isinstance(layout, JsonLines):
            return self._json(layout)
        return self._regex(layout)

    def _typed(self, name: str, text: str, null: str | None = None) -> tuple[str, str | None]:
        """(typed expression, bad-value condition) of a source field from text."""
        ftype = self.m.fields[name]
        target = sql_type(ftype, self.d.name)
        if ftype in ("string", "addr", "enum", "subnet"):
            return text, None
        if null is not None:
            text = f"NULLIF({text}, {self.d.literal(null)})"
        value = self.d.try_cast(text, target)
        return value, f"{text} IS NOT NULL AND {value} IS NULL"

    def _bad(self, checks: list[tuple[str, str]], first: str | None = None) -> str:
        cases = [first] if first else []
        for name, cond in checks:
            label = self.d.literal(f"bad {name} value: ")
            cases.append(f"WHEN {cond} THEN {self._concat(label, self._text_of(name))}")
        return "CASE " + " ".join(cases) + " END" if cases else f"CAST(NULL AS {self.d.text})"

    def _concat(self, a: str, b: str) -> str:
        return f"({a} || {b})" if self.d.name == "duckdb" else f"concat({a}, {b})"

    def _text_of(self, name: str) -> str:
        return self.d.ident("_raw_" + name)

    def _columns(self, layout: Columns) -> str:
        selects, raws, checks = ["_line"], [], []
        for name, ftype in self.m.fields.items():
            q = self.d.ident(name)
            if name not in layout.present:
                selects.append(f"CAST(NULL AS {sql_type(ftype, self.d.name)}) AS {q}")
                continue
            if name in layout.typed:
                selects.append(q)
                continue
            raws.append(f"{q} AS {self._text_of(name)}")
            if is_list(ftype):
                selects.append(f"{self._split(q, layout)} AS {q}")
            elif ftype == "bool":
                t = self.d.literal(layout.bool_true)
                selects.append(f"CASE WHEN {q} IS NULL THEN NULL ELSE {q} = {t} END AS {q}")
            else:
                expr, bad = self._typed(name, q, layout.null_token)
                selects.append(f"{expr} AS {q}")
                if bad:
                    checks.append((name, bad))
        selects.append(f"{self._rest_object(layout.rest)} AS _rest")
        selects.append(f"{self._bad(checks)} AS _bad")
        inner = ", ".join(["*", *raws]) if raws else "*"
        return f"SELECT {', '.join(selects)} FROM (SELECT {inner} FROM _chunk) AS _c"

    def _split(self, q: str, layout: Columns) -> str:
        sep = self.d.literal(layout.list_separator)
        q = f"NULLIF({q}, '')"  # an empty field (tshark's) is no list, not a list of ''
        split = f"string_split({q}, {sep})" if self.d.name == "duckdb" else f"split({q}, {sep})"
        if layout.empty_list is None:
            return split
        empty = (
            "CAST([] AS VARCHAR[])" if self.d.name == "duckdb" else "CAST(array() AS ARRAY<STRING>)"
        )
        return f"CASE WHEN {q} = {self.d.literal(layout.empty_list)} THEN {empty} ELSE {split} END"

    def _rest_object(self, rest: tuple[str, ...]) -> str:
        if not rest:
            return f"CAST(NULL AS {self.d.text})"
        pairs = ", ".join(f"{self.d.literal(r)}, {self.d.ident(r)}" for r in rest)
        if self.d.name == "duckdb":
            return f"CAST(json_object({pairs}) AS VARCHAR)"
        return f"to_json(named_struct({pairs}), map('ignoreNullFields', 'false'))"  # as DuckDB

    def json_path(self, name: str, nested: bool) -> str:
        if not nested:
            return '$."' + name + '"'
        return "$." + name

    def _json(self, layout: JsonLines) -> str:
        if self.d.name == "spark":
            from spot_lab.ingest.spark_sql import json_source

            return json_source(self, layout)
        scalars = [n for n, t in self.m.fields.items() if not is_list(t)]
        paths = (
            "[" + ", ".join(self.d.literal(self.json_path(n, layout.nested)) for n in scalars) + "]"
        )
        selects, raws, checks = ["_line"], [], []
        for i, name in enumerate(scalars, 1):
            raws.append(f"_v[{i}] AS {self._text_of(name)}")
            expr, bad = self._typed(name, self._text_of(name))
            selects.append(f"{expr} AS {self.d.ident(name)}")
            if bad:
                checks.append((name, bad))
        for name, ftype in self.m.fields.items():
            if is_list(ftype):
                path = self.json_path(name, layout.nested)
                path = path if "[*]" in path else path + "[*]"
                selects.append(
                    f"try(json_extract_string(line, {self.d.literal(path)})) AS {self.d.ident(name)}"
                )
        selects += ["line AS _rest", f"{self._bad(checks, 'WHEN _v IS NULL THEN ' + self.d.literal('not a JSON object'))} AS _bad"]  # fmt: skip
        inner = f"SELECT _line, line, try(json_extract_string(line, {paths})) AS _v FROM _chunk"
        return f"SELECT {', '.join(selects)} FROM (SELECT *, {', '.join(raws)} FROM ({inner}) AS _j) AS _c"

    def _regex(self, layout: RegexLines) -> str:
        names = list(self.m.fields)
        pattern = self.d.literal(layout.pattern)
        if self.d.name == "duckdb":
            groups = "[" + ", ".join(self.d.literal(f"g{i}") for i in range(len(names))) + "]"
            inner = f"SELECT _line, regexp_extract(line, {pattern}, {groups}) AS _m FROM _chunk"
            raws = [f"NULLIF(_m.g{i}, '') AS {self._text_of(n)}" for i, n in enumerate(names)]
        else:
            inner = "SELECT _line, line FROM _chunk"
            raws = [f"NULLIF(regexp_extract(line, {pattern}, {i + 1}), '') AS {self._text_of(n)}"
                    for i, n in enumerate(names)]  # fmt: skip
        selects, checks = ["_line"], []
        for name in names:
            expr, bad = self._typed(name, self._text_of(name))
            selects.append(f"{expr} AS {self.d.ident(name)}")
            if bad:
                checks.append((name, bad))
        nomatch = f"WHEN {self._text_of(names[0])} IS NULL THEN {self.d.literal(f'not a {self.m.source} log line')}"
        selects += [
            f"CAST(NULL AS {self.d.text}) AS _rest",
            f"{self._bad(checks, nomatch)} AS _bad",
        ]
        return f"SELECT {', '.join(selects)} FROM (SELECT *, {', '.join(raws)} FROM ({inner}) AS _r) AS _c"
