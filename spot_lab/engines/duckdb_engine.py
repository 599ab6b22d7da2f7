"""The embedded lake's engine: DuckDB in-process over the warehouse folder's parquet files."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
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
        self._worker: ThreadPoolExecutor | None = None

    def _execute(self, sql: str, values: list[Any]) -> pa.Table:
        if self._functions_pending and "spot_" in sql.lower():
            # the six enrichment functions cost ms to create: made when a query first uses one
            from spot_lab.enrich.sql_functions import try_register

            self._functions_pending = False
            try_register(self.con, self.lake.root, relation=False)
        self.connection.refresh(sql)
        try:
            if threading.current_thread() is threading.main_thread():
                return self._interruptible(sql, values)
            return self._run(sql, values)
        except duckdb.InterruptException:
            raise KeyboardInterrupt from None
        except duckdb.Error as exc:
            raise self.error(sql, exc) from None

    def _run(self, sql: str, values: list[Any]) -> pa.Table:
        rel = self.con.sql(sql, params=values or None)
        return rel.to_arrow_table() if rel is not None else pa.table({})

    def _interruptible(self, sql: str, values: list[Any]) -> pa.Table:
        """The kernel's stop button is a SIGINT to the main thread, and DuckDB looks at Python's
        signals only now and then (some plans run minutes without looking). So the main
        thread waits in Python, where SIGINT lands at once, and the query runs on a worker;
        an interrupt becomes DuckDB's own, which stops any plan within a chunk."""
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="spot-lab-duckdb")
        future = self._worker.submit(self._run, sql, values)
        try:
            return future.result()
        except KeyboardInterrupt:
            self.con.interrupt()
            with contextlib.suppress(Exception):  # the worker ends with DuckDB's interrupt
                future.result()
            raise

    def close(self) -> None:
        if self._worker is not None:
            self._worker.shutdown(wait=True)
        self.connection.close()
