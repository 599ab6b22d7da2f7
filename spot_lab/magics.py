"""IPython magics: `%spot_connect`, `%%spotquery`, `%spot_threat`.

`%load_ext spot_lab` registers them. Settings are one `SpotLab` instance registered with the
shell, so `%config SpotLab.displaylimit = 20` changes it for the session. Every spot-lab error
and every argument error is shown as a one-line UsageError, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import html
import shlex
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
from IPython.core.error import UsageError
from IPython.core.magic import (
    Magics,
    line_cell_magic,
    line_magic,
    magics_class,
    needs_local_scope,
    no_var_expand,
)
from IPython.utils.text import DollarFormatter

from spot_lab import limits
from spot_lab.config import SpotLab, load_settings
from spot_lab.dates import date_range
from spot_lab.engines import connections
from spot_lab.engines.base import Engine
from spot_lab.engines.days import explain_empty
from spot_lab.engines.sqltools import confine_to_days, parameter_names, parse, spot_table_refs
from spot_lab.errors import SpotLabError


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting the kernel."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None):
        if message:
            raise UsageError(message.strip())
        raise UsageError(self.format_usage().strip())


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be greater than zero")
    return value


def _top(text: str) -> int:
    try:
        return limits.number(_positive(text), "top", "--top")
    except SpotLabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _date_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", help="one day, YYYY-MM-DD")
    parser.add_argument("--from", dest="start", help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", help="last day, YYYY-MM-DD")
    parser.add_argument("--conn", help="connection alias (default: the current one)")


def _spotquery_parser() -> _Parser:
    parser = _Parser(prog="%%spotquery", add_help=False)
    parser.add_argument("name", nargs="?", help="variable that receives the DataFrame")
    _date_options(parser)
    parser.add_argument("--limit", type=_positive, help="at most N rows")
    parser.add_argument("--show-sql", action="store_true", help="print the SQL sent")
    return parser


def _threat_parser() -> _Parser:
    parser = _Parser(prog="%spot_threat", add_help=False)
    parser.add_argument("anchor", help="an IP, a DNS query name or a full URI")
    parser.add_argument("--type", default="auto", choices=("flow", "dns", "proxy", "auto"))
    _date_options(parser)
    parser.add_argument("--top", type=_top, help="peers kept per group")
    return parser


def _connect_parser() -> _Parser:
    parser = _Parser(prog="%spot_connect", add_help=False)
    parser.add_argument("target", nargs="?", help="URL or lake folder")
    parser.add_argument("--alias", help="name of the connection")
    return parser


def _split(line: str) -> list[str]:
    """The words of a magic's line; its size is checked first (shlex is quadratic)."""
    try:
        limits.text(line, "magic_line", "the magic's line")
    except SpotLabError as exc:
        raise UsageError(str(exc)) from None
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"cannot read the options: {exc}") from None


class SpotResult(pd.DataFrame):
    """A query result: a plain DataFrame that displays as a short preview with its stats.

    Anything derived from it (filters, groupby...) is an ordinary DataFrame.
    """

    @property
    def _constructor(self):
        return pd.DataFrame

    def _caption(self) -> str:
        info = self.attrs.get("spotquery", {})
        return (
            f"{len(self):,} rows x {self.shape[1]} columns in {info.get('elapsed', 0):.2f} s "
            f"on {info.get('engine', '?')}"
        )

    @property
    def _limit(self) -> int:
        return self.attrs.get("spotquery", {}).get("displaylimit", 10)

    def _preview(self) -> pd.DataFrame:
        return pd.DataFrame(self).head(self._limit)

    def __repr__(self) -> str:
        limit = self._limit
        body = repr(self._preview()) if limit else ""
        more = f"\n(first {limit} shown)" if limit and len(self) > limit else ""
        return f"{body}{more}\n{self._caption()}".lstrip("\n")

    def _repr_html_(self) -> str:
        limit = self._limit
        table = self._preview().to_html(max_rows=limit or 1) if limit else ""
        more = f" (first {limit} shown)" if limit and len(self) > limit else ""
        caption = html.escape(self._caption() + more)
        return f'{table}<p class="spot-lab-caption"><small>{caption}</small></p>'


def _as_usage(run: Callable[..., Any]) -> Callable[..., Any]:
    """spot-lab errors become one-line UsageErrors; interrupts say what happened."""

    @functools.wraps(run)
    def wrapper(self: SpotLabMagics, *args: Any, **kwargs: Any) -> Any:
        self._running_kind = None  # set by the run to the engine it queries
        try:
            return run(self, *args, **kwargs)
        except SpotLabError as exc:
            raise UsageError(str(exc)) from None
        except RecursionError:  # a statement nested thousands deep, in the parser or render
            raise UsageError("the input is nested too deeply: flatten it") from None
        except KeyboardInterrupt:
            kind = getattr(self, "_running_kind", None) or "query"
            where = "on the server" if kind not in ("query", "duckdb") else ""
            raise UsageError(f"{kind} query interrupted and cancelled {where}".strip()) from None

    return wrapper


_DOLLAR = DollarFormatter()


def _expanded(magics: SpotLabMagics, line: str, local_ns: dict | None) -> str:
    """IPython's `{expr}` / `$name` expansion of a magic's line, after its size is checked.

    The magics opt out of IPython's own expansion (@no_var_expand), which runs before any
    magic code and takes seconds on a line of tens of thousands of characters; this is
    the same expansion (user namespace, then the caller's locals), bounded by the limit.
    """
    try:
        limits.text(line, "magic_line", "the magic's line")
    except SpotLabError as exc:
        raise UsageError(str(exc)) from None
    if "{" not in line and "$" not in line:
        return line
    shell = magics.shell
    namespace = dict(shell.user_ns) if shell is not None else {}
    namespace.update(local_ns or {})
    try:
        return _DOLLAR.vformat(line, args=[], kwargs=namespace)
    except Exception:  # noqa: BLE001 - as IPython: a line it cannot format is used as is
        return line


@magics_class
class SpotLabMagics(Magics):
    """spot-lab's magics and the session's settings."""

    def __init__(self, shell, settings: SpotLab | None = None) -> None:
        super().__init__(shell)
        self.settings = settings or load_settings(shell.config if shell is not None else None)
        self.connections = connections.session(self.settings)
        self._running_kind: str | None = None

    # ---- %spot_connect -------------------------------------------------------------------
    @line_magic
    @no_var_expand
    @needs_local_scope
    @_as_usage
    def spot_connect(self, line: str = "", local_ns: dict | None = None):
        """%spot_connect URL_OR_LAKE_FOLDER [--alias NAME]: add a connection, make it current.

        Without arguments, list the connections (the current one is marked with *).
        URLs: duckdb:///path/to/lake (or a lake folder), hive://user@host:10000/spot?auth=NOSASL,
        presto://host:8080/hive/spot, trino://host:8080/hive/spot.
        """
        args = _connect_parser().parse_args(_split(_expanded(self, line, local_ns)))
        if args.target is None:
            if args.alias:
                raise UsageError("%spot_connect --alias needs a URL or lake folder")
            return self._connection_list()
        engine = self.connections.add(args.target, alias=args.alias)
        alias = self.connections.current_alias
        print(f"connected: {alias} -> {engine.url} ({engine.kind}), now current")
        return None

    def _connection_list(self) -> pd.DataFrame:
        conns = self.connections
        rows = [
            {"alias": a, "url": e.url, "open": True, "current": a == conns.current_alias}
            for a, e in conns.engines.items()
        ]
        rows += [
            {"alias": a, "url": u, "open": False, "current": False}
            for a, u in self.settings.connections.items()
            if a not in conns.engines
        ]
        if connections.DEFAULT_ALIAS not in conns.engines | self.settings.connections:
            default = conns.current_alias is None
            rows.insert(
                0, {"alias": "lake", "url": self.settings.lake, "open": False, "current": default}
            )
        return pd.DataFrame(rows, columns=["alias", "url", "open", "current"])

    # ---- %%spotquery ---------------------------------------------------------------------
    @line_cell_magic
    @no_var_expand
    @needs_local_scope
    @_as_usage
    def spotquery(self, line: str = "", cell: str | None = None, local_ns: dict | None = None):
        """%%spotquery [name] [--date D | --from D --to D] [--limit N] [--conn ALIAS] [--show-sql]

        Run the cell's SQL (DuckDB dialect; Spot tables flow, dns, proxy, flow_scores...) on the
        current connection and return a DataFrame, assigned to `name` when given. `:var` binds
        the Python variable `var` (a list binds as an IN list). With a date or range, every Spot
        table read is confined to those partitions. As a line magic: %spotquery SELECT ...
        """
        if cell is None:  # line form: everything is SQL
            return self.run_query(_expanded(self, line, local_ns), "")
        return self.run_query(cell, _expanded(self, line, local_ns))

    def run_query(self, sql: str, line: str = "") -> SpotResult:
        args = _spotquery_parser().parse_args(_split(line))
        limits.text(sql, "sql", "the query", lines=True)
        if args.name is not None and not args.name.isidentifier():
            raise UsageError(f"{args.name!r} is not a Python variable name")
        days = date_range(args.date, args.start, args.end)
        engine = self.connections.get(args.conn)
        statements = parse(sql)
        if len(statements) != 1:
            raise UsageError("%%spotquery runs one statement per cell: split the cell")
        tree = statements[0]
        if days is not None:
            tree = confine_to_days(tree, *days)
        if args.limit is not None:
            tree = _limited(tree, args.limit)
        text = tree.sql(dialect="duckdb")
        params = self._params(tree)
        if args.show_sql:
            rendered, values = engine.render(text, params)
            print(f"-- {engine.kind} ({engine.url})\n{rendered}")
            if values:
                print(f"-- values: {values!r}")
        read = [t.name.lower() for t in spot_table_refs(statements[0])]
        on_lake = getattr(engine, "lake", None) is not None
        if days is not None and on_lake:  # a folder listing: cheap enough to check first
            explain_empty(engine, read, *days)
        result = self._run(engine, text, params)
        if days is not None and not on_lake and result.empty:  # a cluster: only when empty
            explain_empty(engine, read, *days)
        if args.name:
            self.shell.user_ns[args.name] = result
        self.shell.user_ns["_spotquery"] = result
        return result

    def _params(self, tree) -> dict[str, Any]:
        names = parameter_names(tree)
        return {n: self.shell.user_ns[n] for n in names if n in self.shell.user_ns}

    def _run(self, engine: Engine, text: str, params: dict[str, Any]) -> SpotResult:
        started = time.perf_counter()
        self._running_kind = engine.kind
        table = engine.arrow(text, params)
        frame = SpotResult(table.to_pandas())
        frame.attrs["spotquery"] = {
            "elapsed": time.perf_counter() - started,
            "engine": engine.kind,
            "displaylimit": self.settings.displaylimit,
        }
        return frame

    # ---- %spot_threat --------------------------------------------------------------------
    @line_magic
    @no_var_expand
    @needs_local_scope
    @_as_usage
    def spot_threat(self, line: str = "", local_ns: dict | None = None):
        """%spot_threat ANCHOR [--type flow|dns|proxy|auto] [--date D | --from D --to D]
        [--top N] [--conn ALIAS]: investigate one threat and answer the five Ws."""
        options = self.threat_options(_expanded(self, line, local_ns))
        from spot_lab.investigation.search import investigate

        self._running_kind = options["engine"].kind
        return investigate(options.pop("anchor"), **options)

    def threat_options(self, line: str) -> dict[str, Any]:
        """Parse and validate %spot_threat's arguments into investigate()'s keywords."""
        args = _threat_parser().parse_args(_split(line))
        days = date_range(args.date, args.start, args.end)
        anchor = args.anchor.strip()
        if not anchor:
            raise UsageError("%spot_threat needs an anchor: an IP, a DNS name or a URI")
        return {
            "anchor": anchor,
            "data_type": args.type,
            "date_range": days,
            "top": args.top or self.settings.top_n,
            "engine": self.connections.get(args.conn),
            "settings": self.settings,
        }


def _limited(tree, limit: int):
    """Cap the rows of a query without loosening a smaller LIMIT the user wrote."""
    from sqlglot import exp

    if isinstance(tree, exp.Select):
        current = tree.args.get("limit")
        number = current.expression if current is not None else None
        if isinstance(number, exp.Literal) and number.is_int and int(number.this) <= limit:
            return tree
        return tree.limit(limit, copy=True)
    return exp.select("*").from_(tree.subquery("_spotquery")).limit(limit)


def load_ipython_extension(ipython) -> None:
    """`%load_ext spot_lab`: register the magics and the SpotLab settings."""
    magics = SpotLabMagics(ipython)
    ipython.register_magics(magics)
    ipython.configurables = [c for c in ipython.configurables if not isinstance(c, SpotLab)]
    ipython.configurables.append(magics.settings)


def unload_ipython_extension(ipython) -> None:
    ipython.configurables = [c for c in ipython.configurables if not isinstance(c, SpotLab)]
    ipython.magics_manager.registry.pop("SpotLabMagics", None)
    for name in ("spot_connect", "spotquery", "spot_threat"):
        ipython.magics_manager.magics["line"].pop(name, None)
    ipython.magics_manager.magics["cell"].pop("spotquery", None)
