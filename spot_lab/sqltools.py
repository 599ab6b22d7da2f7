"""SQL handling with a real parser (sqlglot): parameter binding and dialect translation.

spot-lab writes its queries (spot_lab/queries.yaml) and accepts user SQL in DuckDB's
dialect with named `:name` parameters. Values are never pasted into SQL text: each
`:name` becomes a positional placeholder and its value travels separately to the driver.
A list or tuple value binds as an IN list (`x IN :ips` or `x IN (:ips)`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlglot
from sqlglot import exp

from .errors import InputError, QueryError

CANONICAL_DIALECT = "duckdb"


def parse(sql: str, dialect: str = CANONICAL_DIALECT) -> list[exp.Expression]:
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0]
        raise QueryError(f"SQL syntax error: {first}") from None
    if not statements:
        raise QueryError("empty SQL: write a query in the cell")
    return statements


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

    def expand_lists(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.In):
            new_items = []
            for item in node.expressions or []:
                if isinstance(item, exp.Placeholder) and isinstance(
                    values.get(item.name), (list, tuple, set)
                ):
                    seq = list(values[item.name])
                    if not seq:
                        raise InputError(f"parameter :{item.name} is an empty list")
                    new_items.extend(
                        exp.Placeholder(this=f"{item.name}\x00{i}") for i in range(len(seq))
                    )
                else:
                    new_items.append(item)
            node.set("expressions", new_items)
            # `x IN :ips` parses as an IN with a placeholder in `field`/`query`
            field = node.args.get("field") or node.args.get("query")
            if isinstance(field, exp.Placeholder) and isinstance(
                values.get(field.name), (list, tuple, set)
            ):
                seq = list(values[field.name])
                node.set("field", None)
                node.set("query", None)
                node.set(
                    "expressions",
                    [exp.Placeholder(this=f"{field.name}\x00{i}") for i in range(len(seq))],
                )
        return node

    tree = tree.transform(expand_lists)
    for node in list(tree.find_all(exp.Placeholder)):
        if not node.name:
            raise InputError("use named parameters (:name), not positional ?")
    # Values must follow the placeholders' order in the generated text (a tree walk does
    # not: LIMIT is visited before WHERE), so render once with numbered markers and sort.
    nodes = list(tree.find_all(exp.Placeholder))
    marked = tree.copy()
    for i, node in enumerate(list(marked.find_all(exp.Placeholder))):  # same walk, same order
        node.replace(exp.Var(this=f"__spotlab_p{i}__"))
    text = marked.sql(dialect=CANONICAL_DIALECT)
    order = sorted(range(len(nodes)), key=lambda i: text.find(f"__spotlab_p{i}__"))
    nodes = [nodes[i] for i in order]
    for node in nodes:
        name, _, index = node.name.partition("\x00")
        value = values[name]
        if index:
            value = list(value)[int(index)]
        elif isinstance(value, (list, tuple, set)):
            raise InputError(f"parameter :{name} is a list: use it as `column IN (:{name})`")
        ordered.append(_plain(value))
    tree = tree.transform(lambda n: exp.Placeholder() if isinstance(n, exp.Placeholder) else n)
    return tree, ordered


def _plain(value: Any) -> Any:
    """numpy scalars and the like become plain Python values drivers understand."""
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, (str, bytes)) else value


def to_dialect(tree: exp.Expression, dialect: str) -> str:
    return tree.sql(dialect=dialect)


def prepare(sql: str, values: Mapping[str, Any] | None, dialect: str) -> tuple[str, list[Any]]:
    """Parse one statement of canonical SQL, bind its parameters, render it for `dialect`."""
    statements = parse(sql)
    if len(statements) != 1:
        raise QueryError("one statement at a time, please")
    tree, ordered = bind(statements[0], values or {})
    return to_dialect(tree, dialect), ordered
