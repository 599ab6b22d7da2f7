"""Shared parts of the cluster engines (HiveServer2, Presto, Trino through PyHive): their URLs,
pyformat rendering, progress and one-line errors.

URLs:
    hive://user@host:10000/spot?auth=NOSASL|NONE|LDAP|KERBEROS&password=..&kerberos_service_name=..
        &dialect=spark|hive  (spark: Spark Thrift Server, the default; hive: Apache Hive)
    presto://user@host:8080/catalog/schema?protocol=https&password=..&source=..
    trino://user@host:8080/catalog/schema?...

Canonical SQL (DuckDB dialect) is translated with sqlglot. PyHive binds values client-side
with pyformat, so placeholders become `%s` and literal `%` signs are doubled.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pyarrow as pa

from spot_lab.engines.base import Engine
from spot_lab.engines.sqltools import prepare
from spot_lab.errors import InputError

DEFAULT_PORTS = {"hive": 10000, "presto": 8080, "trino": 8080}
FETCH_ROWS = 10_000  # Hive caps maxRows at 10,000 per FetchResults call
_PARAM = "\x00spotlab-param\x00"  # sentinel rendered for each placeholder


@dataclass
class ClusterURL:
    """The parts of a cluster URL, validated."""

    scheme: str
    host: str
    port: int
    user: str | None
    path: list[str]
    options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, url: str) -> ClusterURL:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise InputError(
                f"unsupported URL scheme {parts.scheme!r} in {url!r}: "
                "use duckdb:///lake, hive://host:10000/db, presto://host:8080/catalog/schema "
                "or trino://host:8080/catalog/schema"
            )
        if not parts.hostname:
            raise InputError(f"no host in {url!r}: write {scheme}://host:port/...")
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError:
            raise InputError(f"bad port in {url!r}: use a number, e.g. :10000") from None
        path = [unquote(p) for p in parts.path.split("/") if p]
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        if parts.password is not None:
            options.setdefault("password", unquote(parts.password))
        user = unquote(parts.username) if parts.username else None
        return cls(scheme, parts.hostname, port, user, path, options)

    def take(self, known: set[str]) -> None:
        unknown = sorted(set(self.options) - known)
        if unknown:
            raise InputError(
                f"unknown option(s) {', '.join(unknown)} in the {self.scheme} URL: "
                f"use {', '.join(sorted(known))}"
            )


def render_pyformat(
    sql: str, params: Mapping[str, Any] | None, dialect: str
) -> tuple[str, list[Any]]:
    """Canonical SQL -> (text for a pyformat driver, positional values).

    Placeholders become `%s`; every literal `%` is doubled so the driver's `%` formatting
    leaves it alone. Values are escaped by the driver, never pasted here.
    """
    text, values = prepare(sql, params, dialect, marker=_PARAM)  # rendered once per shape
    if not values:
        return text.replace(_PARAM, "?"), []  # no formatting step: keep `%` as written
    return text.replace("%", "%%").replace(_PARAM, "%s"), values


_JAVA_PREFIX = re.compile(
    r"^(?:(?:[\w$]+\.)+[\w$]*(?:Exception|Error):\s*|Error running query:\s*)+"
)


def _one_line(exc: BaseException) -> str:
    """The first meaningful line, without Java exception class prefixes."""
    text = str(getattr(exc, "message", None) or exc)
    first = next((line for line in text.splitlines() if line.strip()), text)
    first = " ".join(first.split())
    first = re.sub(r"(\[[A-Z_]+\]) (?:[\w$]+\.)+[\w$]*Exception: \1", r"\1", first)
    return _JAVA_PREFIX.sub("", first)[:300]


def _default_progress(engine: str, state: str, elapsed: float, done: bool) -> None:
    """Progress of a long query on stderr, updated in place (notebooks honour \\r)."""
    end = "\n" if done else ""
    sys.stderr.write(f"\r[{engine}] {state.lower()} {elapsed:6.1f} s{end}")
    sys.stderr.flush()


ProgressFn = Callable[[str, str, float, bool], None]


class ClusterEngine(Engine):
    """Shared parts of the PyHive-based engines: rendering, progress, errors."""

    def __init__(
        self, url: str, timeout: float = 30.0, poll_interval: float = 0.2, **_: Any
    ) -> None:
        super().__init__(url)
        self.timeout = float(timeout)
        self.poll_interval = float(poll_interval)
        self.progress: ProgressFn = _default_progress
        self.progress_after = 1.0  # seconds before progress is shown
        self.last_state: str | None = None

    def render(self, sql: str, params: Mapping[str, Any] | None = None) -> tuple[str, list[Any]]:
        return render_pyformat(sql, params, self.dialect)

    def arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        text, values = self.render(sql, params)
        return self._execute(text, values)
