"""A mapping's DuckDB statement split for speed (the Spark job runs the whole statement).

Most of an ingest's time goes into making columns, so a column is made the cheapest way that
gives the same values as the mapping's SQL:
- `sql`: computed by the statement, one per chunk (what needs SQL: times, casts, checks);
- `chunk`: a source field copied as it is (`{from: uid}`) is the column the reader already
  parsed (delimited logs), never copied through DuckDB and back;
- `null` / `value`: built by pyarrow (a column Zeek has no value for, the sensor's name);
- `distinct`: a conversion marked `distinct: true` in conversions.yaml (a function of its inputs
  alone, whose inputs take few values: Zeek's history -> nfdump flags, DNS code lookups) is
  computed once per distinct input tuple of the chunk, then spread back to the rows by index.

The statement returns one row per chunk row in the chunk's order (DuckDB keeps insertion order;
`_line` is checked), so the parts line up row for row.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spot_lab.ingest.mapping import Spec, conversions, is_list
from spot_lab.ingest.sql import Columns, Renderer

MEMO_LIMIT = 100_000  # remembered input tuples of one distinct conversion
_INPUT = "_in_"  # prefix of a distinct conversion's inputs in the statement's result


@dataclass(frozen=True)
class Part:
    column: str
    kind: str  # sql | chunk | null | value | distinct
    arrow_type: pa.DataType
    field: str = ""  # chunk: the source field
    value: object = None  # value: the constant, already cast as the mapping's SQL does
    inputs: tuple[tuple[str, str], ...] = ()  # distinct: (input field, where: chunk | result)
    expr: str = ""  # distinct: the SQL over a table `_d` whose columns are the inputs


@dataclass(frozen=True)
class Plan:
    sql: str
    parts: tuple[Part, ...]


def make_plan(con: duckdb.DuckDBPyConnection, renderer: Renderer, layout) -> Plan:
    """The split of one mapping for one chunk layout (cached by the caller per layout)."""
    m, d = renderer.m, renderer.d
    parts, in_sql, extras = [], set(), []
    referenced = {i[1:] for s in m.columns.values() for i in s.inputs if i.startswith("$")}
    for col in renderer.table.columns + renderer.table.extensions:
        spec = m.columns.get(col.name)
        if col.name == "extra" and spec is None:
            in_sql.add(col.name)  # the source layer's _rest
            parts.append(Part(col.name, "sql", col.arrow_type))
        elif spec is None or spec.null:
            parts.append(Part(col.name, "null", col.arrow_type))
        elif spec.value is not None:
            cast = d.try_cast(d.literal(spec.value), col.duckdb_type)
            value = con.sql(f"SELECT {cast}").fetchall()[0][0]
            parts.append(Part(col.name, "value", col.arrow_type, value=value))
        elif (field := _copied(renderer, spec, col.duckdb_type, layout)) is not None:
            parts.append(Part(col.name, "chunk", col.arrow_type, field=field))
        elif col.name not in referenced and (inputs := _distinct_inputs(renderer, spec, layout)):
            for name, where in inputs:
                item = f"{d.ident(name)} AS {d.ident(_INPUT + name)}"
                if where == "result" and item not in extras:
                    extras.append(item)
            expr = d.try_cast(renderer.spec_expr(spec), col.duckdb_type)
            parts.append(Part(col.name, "distinct", col.arrow_type, inputs=inputs, expr=expr))
        else:
            in_sql.add(col.name)
            parts.append(Part(col.name, "sql", col.arrow_type))
    return Plan(renderer._statement(layout, in_sql, tuple(extras)), tuple(parts))


def _copied(renderer: Renderer, spec: Spec, column_type: str, layout) -> str | None:
    """The source field a column copies unchanged from a parsed chunk, if it does."""
    if not isinstance(layout, Columns) or spec.convert != "same" or len(spec.inputs) != 1:
        return None
    name = spec.inputs[0]
    ftype = renderer.m.fields.get(name)
    if ftype is None or name not in layout.present or is_list(ftype):
        return None
    text = ftype in ("string", "addr", "enum", "subnet")
    if not (text or name in layout.typed):
        return None  # the statement parses it from text (and rejects bad values)
    from spot_lab.ingest.mapping import sql_type

    return name if sql_type(ftype, "duckdb") == column_type else None


def _distinct_inputs(renderer: Renderer, spec: Spec, layout) -> tuple[tuple[str, str], ...]:
    """(field, where) of a distinct conversion's inputs; () when it is not one."""
    if spec.convert not in conversions() or not conversions()[spec.convert].get("distinct"):
        return ()
    fields = renderer.m.fields
    if not spec.inputs or any(i not in fields or is_list(fields[i]) for i in spec.inputs):
        return ()
    out = []
    for name in spec.inputs:
        from_chunk = isinstance(layout, Columns) and name in layout.present and (
            fields[name] in ("string", "addr", "enum", "subnet") or name in layout.typed)  # fmt: skip
        if isinstance(layout, Columns) and name not in layout.present:
            return ()  # the statement makes it a typed NULL: leave the column to SQL
        out.append((name, "chunk" if from_chunk else "result"))
    return tuple(out)


def assemble(con: duckdb.DuckDBPyConnection, plan: Plan, rows: pa.Table, result: pa.Table,
             memo: dict | None = None) -> pa.Table:  # fmt: skip
    """The statement's result with every column of the plan, in the table's order. `memo`
    keeps the distinct conversions' values from chunk to chunk (the caller's, per log)."""
    if result.num_rows and not _aligned(rows["_line"], result["_line"]):
        result = result.take(pc.sort_indices(result["_line"]))  # never seen: insertion order
    n = result.num_rows
    columns, names = [], []
    for part in plan.parts:
        if part.kind == "sql":
            array = result[part.column]
        elif part.kind == "chunk":
            array = rows[part.field]
        elif part.kind == "null":
            array = pa.nulls(n, part.arrow_type)
        elif part.kind == "value":
            array = pa.repeat(pa.scalar(part.value, part.arrow_type), n)
        else:
            array = _per_distinct(con, part, rows, result, {} if memo is None else memo)
        columns.append(array)
        names.append(part.column)
    for name in ("_t", "_hour", "_line", "_reason", "_skip"):
        columns.append(result[name])
        names.append(name)
    return pa.table(columns, names=names)


def _aligned(a: pa.ChunkedArray, b: pa.ChunkedArray) -> bool:
    return len(a) == len(b) and pc.all(pc.equal(a, b)).as_py() is not False


def _per_distinct(con: duckdb.DuckDBPyConnection, part: Part, rows: pa.Table,
                  result: pa.Table, memo: dict) -> pa.Array:  # fmt: skip
    """The conversion over each distinct input tuple once, spread back to the rows. Each input
    is dictionary-encoded (NULL is a value too); tuples are numbered one input at a time
    (code * size + index, re-encoded: every number stays below rows squared). A tuple's value
    is remembered in `memo` (per conversion and input types), so later chunks of the log query
    DuckDB only for tuples they are the first to hold: planning that query took about 7 ms a
    chunk, more than the conversion itself."""
    encoded = [pc.dictionary_encode(_whole(rows[name] if where == "chunk" else result[_INPUT + name]),
                                    null_encoding="encode") for name, where in part.inputs]  # fmt: skip
    code = encoded[0].indices.to_numpy(zero_copy_only=False).astype(np.int64)
    steps = []
    for e in encoded[1:]:
        size = max(len(e.dictionary), 1)
        pairs = pc.dictionary_encode(
            pa.array(code * size + e.indices.to_numpy(zero_copy_only=False))
        )
        code = pairs.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        steps.append((size, pairs.dictionary.to_numpy()))
    ids = np.arange(len(steps[-1][1]) if steps else len(encoded[0].dictionary))
    picks = []
    for size, values in reversed(steps):
        picks.insert(0, values[ids] % size)
        ids = values[ids] // size
    picks.insert(0, ids)
    table = pa.table({name: e.dictionary.take(pa.array(pick))
                      for (name, _), e, pick in zip(part.inputs, encoded, picks, strict=True)})  # fmt: skip
    known = memo.setdefault((part.expr, tuple(str(c.type) for c in table.columns)), {})
    if len(known) > MEMO_LIMIT:  # inputs with very many values: start again, memory bound
        known.clear()
    keys = list(zip(*(c.to_pylist() for c in table.columns), strict=True))
    new = [i for i, key in enumerate(keys) if key not in known]
    if new:
        con.register("_d", table.take(pa.array(new, pa.int64())))
        try:
            out = con.sql(f"SELECT {part.expr} AS v FROM _d").to_arrow_table()["v"]
        finally:
            con.unregister("_d")
        values = _whole(out).cast(part.arrow_type).to_pylist()
        known.update(zip((keys[i] for i in new), values, strict=True))
    values = pa.array([known[key] for key in keys], part.arrow_type)
    return values.take(pa.array(code))


def _whole(array) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
