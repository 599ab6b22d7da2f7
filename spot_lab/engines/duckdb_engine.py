"""The embedded lake's engine: DuckDB in-process over the warehouse folder's parquet files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from spot_lab.engines.base import Engine
from spot_lab.store.lake import Lake, LakeConnection


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
