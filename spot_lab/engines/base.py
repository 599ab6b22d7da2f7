"""Query engines behind one small interface: canonical SQL + named values in, Arrow out.

`DuckDBEngine` (the embedded lake) lives here; the cluster engines (Hive/Spark through
PyHive, Presto, Trino) live in spot_lab.engines.cluster and are opened by `open_engine(url)`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from spot_lab.engines.sqltools import prepare
from spot_lab.errors import QueryError
from spot_lab.store.lake import Lake, LakeConnection


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


class DuckDBEngine(Engine):
    """The embedded lake: DuckDB in-process over the warehouse folder's parquet files."""

    kind = "duckdb"
    dialect = "duckdb"

    def __init__(self, lake: Lake | str | Path) -> None:
        self.lake = lake if isinstance(lake, Lake) else Lake(lake)
        super().__init__(f"duckdb://{self.lake.root}")
        self.connection: LakeConnection = self.lake.connect()
        self.con: duckdb.DuckDBPyConnection = self.connection.con
        from spot_lab.enrich.sql_functions import (
            try_register,  # spot_geo(ip), spot_net_context(ip)... in SQL
        )

        try_register(self.con, self.lake.root, functions=False)  # the network_context relation
        self._functions_pending = True

    def _execute(self, sql: str, values: list[Any]) -> pa.Table:
        if self._functions_pending and "spot_" in sql.lower():
            # the six enrichment functions cost ms to create: made when a query first uses one
            from spot_lab.enrich.sql_functions import try_register

            self._functions_pending = False
            try_register(self.con, self.lake.root, relation=False)
        self.connection.refresh(sql)
        try:
            rel = self.con.sql(sql, params=values or None)
            return rel.to_arrow_table() if rel is not None else pa.table({})
        except duckdb.Error as exc:
            raise self.error(sql, exc) from None

    def close(self) -> None:
        self.connection.close()


def open_engine(target: str | Path | Lake, **options: Any) -> Engine:
    """Open an engine from a URL (duckdb://, hive://, presto://, trino://) or a lake folder."""
    if isinstance(target, Lake):
        return DuckDBEngine(target)
    text = str(target)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("", "file"):
        return DuckDBEngine(text.split("://", 1)[-1])
    if scheme == "duckdb":
        return DuckDBEngine(text[len("duckdb://") :] or ".")
    from spot_lab.engines.cluster import open_cluster_engine

    return open_cluster_engine(text, **options)
