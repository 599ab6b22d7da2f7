"""The engine interface: canonical SQL + named values in, Arrow out.

Engines: `duckdb_engine.DuckDBEngine` (the embedded lake), `hive.HiveEngine` (HiveServer2,
Spark Thrift Server), `presto.PrestoEngine` / `TrinoEngine`; `registry.open_engine(url)`
picks one. Every engine passes tests/test_engine_conformance.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from spot_lab.engines.sqltools import prepare
from spot_lab.errors import QueryError


class Engine(ABC):
    """One connection to a store of Spot tables."""

    kind: str = "?"  # duckdb | hive | presto | trino
    dialect: str = "duckdb"  # sqlglot dialect the engine speaks

    def __init__(self, url: str) -> None:
        self.url = url

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    @abstractmethod
    def _execute(self, sql: str, values: list[Any]) -> pa.Table:
        """Run one statement already in this engine's dialect with positional values."""

    def arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        """Run canonical SQL (DuckDB dialect, `:name` parameters) and return Arrow."""
        text, values = prepare(sql, params, self.dialect)
        return self._execute(text, values)

    def df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        return self.arrow(sql, params).to_pandas()

    def render(self, sql: str, params: Mapping[str, Any] | None = None) -> tuple[str, list[Any]]:
        """The statement as this engine receives it, and its values (for --show-sql)."""
        return prepare(sql, params, self.dialect)

    def close(self) -> None:  # noqa: B027 - optional for engines without resources
        pass

    def error(self, sql: str, exc: BaseException) -> QueryError:
        """A one-line error naming the engine and the failing statement."""
        message = " ".join(str(exc).split())
        statement = " ".join(sql.split())
        if len(statement) > 160:
            statement = statement[:157] + "..."
        return QueryError(f"{self.kind} error: {message} [in: {statement}]")
