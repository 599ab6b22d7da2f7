"""SQL handling with a real parser (sqlglot): parameter binding and dialect translation.

spot-lab writes its queries (spot_lab/queries.yaml) and accepts user SQL in DuckDB's
dialect with named `:name` parameters. Values are never pasted into SQL text: each
`:name` becomes a positional placeholder and its value travels separately to the driver.
A list or tuple value binds as an IN list (`x IN :ips` or `x IN (:ips)`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from collections.abc import Mapping
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

from spot_lab import limits
from spot_lab.errors import InputError, QueryError

CANONICAL_DIALECT = "duckdb"
_NAME = re.compile(r"[A-Za-z_]\w*\b")
# Up to this many calendar months a range is one term per month (readable, and simple
# partition pruners match it); longer ranges get one compact lexicographic predicate.
MONTH_TERMS = 12
_MARKER = re.compile(r"__spotlab_p(\d+)__")


def parse(sql: str, dialect: str = CANONICAL_DIALECT) -> list[exp.Expression]:
    try:
        if dialect == CANONICAL_DIALECT:
            sql = _colon_to_dollar(sql)
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:  # ' alone: TokenError
        first = (str(exc).splitlines() or ["cannot read the statement"])[0]
        raise QueryError(f"SQL syntax error: {first}") from None
    except RecursionError:
        raise QueryError("the SQL is nested too deeply to parse: flatten it") from None
    if not statements:
        raise QueryError("empty SQL: write a query in the cell")
    return statements


def _colon_to_dollar(sql: str) -> str:
    """`:name` parameters written as DuckDB's `$name` before parsing: in DuckDB's grammar
    `SELECT :v` reads as a prefix alias (`alias: expr`), so `:v` first in a select list did
    not parse. Only a colon token right before a name, after a space or an operator (never
    `::` casts, slices like `a[1:2]`, or colons inside strings and comments) changes."""
    try:
        tokens = sqlglot.Dialect.get_or_raise(CANONICAL_DIALECT).tokenize(sql)
    except sqlglot.errors.TokenError:
        return sql  # the parser reports the error with its position
    colons = [
        a.start
        for a, b in zip(tokens, tokens[1:], strict=False)
        if a.token_type == TokenType.COLON
        and b.start == a.end + 1
        and _NAME.match(sql, b.start)  # a word, also one read as a keyword (:date, :limit)
        and b.token_type not in (TokenType.STRING, TokenType.IDENTIFIER)
        and (a.start == 0 or not (sql[a.start - 1].isalnum() or sql[a.start - 1] in "_])\"'`"))
    ]
    for at in reversed(colons):
        sql = sql[:at] + "$" + sql[at + 1 :]
    return sql


def parameter_names(tree: exp.Expression) -> list[str]:
    return [p.name for p in tree.find_all(exp.Placeholder) if p.name]


def bind(tree: exp.Expression, values: Mapping[str, Any]) -> tuple[exp.Expression, list[Any]]:
    """Replace `:name` placeholders with positional ones; return the tree and the values.

    Raises InputError naming any parameter that has no value.
    """
    tree = tree.copy()
    missing = sorted({n for n in parameter_names(tree) if n not in values})
    if missing:
        raise InputError(
            f"undefined parameter(s) {', '.join(':' + m for m in missing)}: "
            "define a Python variable with that name first"
        )
    ordered: list[Any] = []

    def expanded(item: Any) -> list[exp.Placeholder] | None:
        """The placeholders a list-valued `:name` expands to; None for anything else."""
        if not isinstance(item, exp.Placeholder):
            return None
        seq = values.get(item.name)
        if not isinstance(seq, (list, tuple, set)):
            return None
        if not seq:
            raise InputError(f"parameter :{item.name} is an empty list")
        limits.count(seq, "in_list", f"parameter :{item.name}")
        return [exp.Placeholder(this=f"{item.name}\x00{i}") for i in range(len(seq))]

    def expand_lists(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.In):
            items = [new for item in node.expressions or [] for new in expanded(item) or [item]]
            # `x IN :ips` parses as an IN with a placeholder in `field`/`query`
            whole = expanded(node.args.get("field") or node.args.get("query"))
            if whole:
                node.set("field", None)
                node.set("query", None)
                items = whole
            node.set("expressions", items)
        return node

    tree = tree.transform(expand_lists)
    for node in list(tree.find_all(exp.Placeholder)):
        if not node.name:
            raise InputError("use named parameters (:name), not positional ?")
    # Values must follow the placeholders' order in the generated text (a tree walk does
    # not: LIMIT is visited before WHERE), so render once with numbered names and read
    # them back. Nodes are renamed in place: sqlglot's replace() re-parents every sibling,
    # which made a list of n values cost n^2 (8,000 took 10 s).
    nodes = list(tree.find_all(exp.Placeholder))
    names = [node.name for node in nodes]
    for i, node in enumerate(nodes):
        node.set("this", f"__spotlab_p{i}__")
    text = tree.sql(dialect=CANONICAL_DIALECT)
    found = [int(m.group(1)) for m in _MARKER.finditer(text)]
    if sorted(found) != list(range(len(nodes))):  # a literal that looks like a marker
        raise QueryError("the SQL holds the text __spotlab_p: rename it")
    for i in found:
        name, _, index = names[i].partition("\x00")
        value = values[name]
        if index:
            value = value[int(index)]
        elif isinstance(value, (list, tuple, set)):
            raise InputError(f"parameter :{name} is a list: use it as `column IN (:{name})`")
        ordered.append(value)
    for node in nodes:
        node.set("this", None)  # a nameless placeholder renders as `?`
    return tree, ordered


def plain_value(value: Any) -> Any:
    """numpy scalars and the like become plain Python values drivers understand."""
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, (str, bytes)) else value


def to_dialect(tree: exp.Expression, dialect: str) -> str:
    return tree.sql(dialect=dialect)


def prepare(
    sql: str, values: Mapping[str, Any] | None, dialect: str, marker: str = ""
) -> tuple[str, list[Any]]:
    """Parse one statement of canonical SQL, bind its parameters, render it for `dialect`
    (placeholders as `?`, or as `marker` for drivers with another paramstyle)."""
    # a set is listed once, so its values and placeholders agree on one order
    values = {k: list(v) if isinstance(v, set) else v for k, v in (values or {}).items()}
    for key, value in values.items():  # before any parsing: a huge list fails at once
        if isinstance(value, (list, tuple)):
            limits.count(value, "in_list", f"parameter :{key}")
    # Parsing and rendering cost tens of ms; the text only depends on the SQL, the dialect
    # and the parameters' shape (list lengths), so it is rendered once per shape.
    shape = tuple(
        sorted((k, len(v) if isinstance(v, (list, tuple)) else -1) for k, v in values.items())
    )
    text, slots = _prepared(sql, dialect, shape, marker)
    return text, [plain_value(_fill(slot, values)) for slot in slots]


class _Slot:
    """Where a bound value goes: its parameter name and index in its list (-1: a scalar)."""

    __slots__ = ("name", "index")

    def __init__(self, name: str, index: int) -> None:
        self.name, self.index = name, index


def _fill(slot: _Slot, values: Mapping[str, Any]) -> Any:
    value = values[slot.name]
    return value if slot.index < 0 else value[slot.index]


@functools.lru_cache(maxsize=512)
def _prepared(
    sql: str, dialect: str, shape: tuple, marker: str = ""
) -> tuple[str, tuple[_Slot, ...]]:
    markers = {
        name: (_Slot(name, -1) if n < 0 else [_Slot(name, i) for i in range(n)])
        for name, n in shape
    }
    statements = parse(sql)
    if len(statements) != 1:
        raise QueryError("one statement at a time, please")
    tree, ordered = bind(statements[0], markers)
    if marker:
        tree = tree.transform(
            lambda n: exp.Var(this=marker) if isinstance(n, exp.Placeholder) else n
        )
    return to_dialect(tree, dialect), tuple(ordered)


# ---- date-range confinement -------------------------------------------------------------------


def _month_terms(first: dt.date, last: dt.date) -> list[tuple[int, int, int | None, int | None]]:
    """(year, month, first day, last day) per calendar month of the range; days None = whole."""
    terms = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        start = first.day if (year, month) == (first.year, first.month) else 1
        month_end = calendar.monthrange(year, month)[1]
        end = last.day if (year, month) == (last.year, last.month) else month_end
        whole = start == 1 and end == month_end
        terms.append((year, month, None if whole else start, None if whole else end))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return terms


def partition_filter(name: str, first: dt.date, last: dt.date) -> exp.Expression:
    """A predicate on a Spot table's y/m/d partitions selecting the days first..last.

    One term per calendar month (never a naive per-field range: that breaks across month
    ends); past MONTH_TERMS months one lexicographic (y, m, d) comparison of fixed size,
    so `--from 0001-01-01 --to 9999-12-31` costs what a week does. Proxy's raw partitions
    are zero-padded strings (they compare in the same order); everything else is numeric.
    """
    from spot_lab.store.schema import table as get_table

    as_text = get_table(name).string_partitions

    def lit(value: int, width: int) -> exp.Expression:
        return exp.Literal.string(f"{value:0{width}d}") if as_text else exp.Literal.number(value)

    if (last.year - first.year) * 12 + last.month - first.month >= MONTH_TERMS:
        return _lexicographic(first, last, lit)
    terms = []
    for year, month, start, end in _month_terms(first, last):
        term = exp.and_(
            exp.EQ(this=exp.column("y"), expression=lit(year, 4)),
            exp.EQ(this=exp.column("m"), expression=lit(month, 2)),
        )
        if start is not None and end is not None:
            days = (
                exp.EQ(this=exp.column("d"), expression=lit(start, 2))
                if start == end
                else exp.Between(this=exp.column("d"), low=lit(start, 2), high=lit(end, 2))
            )
            term = exp.and_(term, days)
        terms.append(term)
    return exp.or_(*terms) if len(terms) > 1 else terms[0]


def _lexicographic(first: dt.date, last: dt.date, lit) -> exp.Expression:
    """(y, m, d) between first and last, compared field by field (exact at every edge)."""
    y, m, d = exp.column("y"), exp.column("m"), exp.column("d")

    def side(day: dt.date, beyond, edge) -> exp.Expression:
        # y beyond the edge year, else (same year) m beyond, else same month and d edge-wise
        return exp.or_(
            beyond(this=y, expression=lit(day.year, 4)),
            beyond(this=m, expression=lit(day.month, 2)),
            exp.and_(
                exp.EQ(this=m, expression=lit(day.month, 2)),
                edge(this=d, expression=lit(day.day, 2)),
            ),
        )

    years = exp.Between(this=y, low=lit(first.year, 4), high=lit(last.year, 4))
    return exp.and_(
        years,
        exp.paren(side(first, exp.GT, exp.GTE)),
        exp.paren(side(last, exp.LT, exp.LTE)),
    )


def spot_table_refs(tree: exp.Expression) -> list[exp.Table]:
    """References to Spot tables read by a query (FROM / JOIN), excluding CTE names."""
    from spot_lab.store.schema import TABLES

    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    refs = []
    for node in tree.find_all(exp.Table):
        name = node.name.lower()
        if name in TABLES and name not in ctes and isinstance(node.parent, (exp.From, exp.Join)):
            refs.append(node)
    return refs


def confine_to_days(tree: exp.Expression, first: dt.date, last: dt.date) -> exp.Expression:
    """Wrap every Spot table read by the query in a subquery filtered on its partitions.

    `FROM flow f JOIN dns ON ...` becomes `FROM (SELECT * FROM flow WHERE <days>) AS f JOIN
    (SELECT * FROM dns WHERE <days>) AS dns ON ...`: aliases, joins, subqueries and CTEs keep
    working, and both DuckDB and a cluster prune partitions from the predicate.
    """
    if first > last:
        raise InputError(f"--from {first} is after --to {last}: swap them")
    tree = tree.copy()
    for ref in spot_table_refs(tree):
        name = ref.name.lower()
        alias = ref.alias or ref.name
        source = exp.Table(this=exp.to_identifier(ref.name), db=ref.args.get("db"))
        inner = exp.select("*").from_(source).where(partition_filter(name, first, last))
        ref.replace(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias))))
    return tree
