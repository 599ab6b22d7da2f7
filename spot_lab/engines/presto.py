"""Presto and Trino through PyHive's REST clients. No coordinator can run in this project's CI,
so they are tested up to the wire (connect arguments, rendering, errors)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pyarrow as pa

from spot_lab.engines.cluster_base import FETCH_ROWS, ClusterEngine, ClusterURL
from spot_lab.errors import InputError, QueryError


class PrestoEngine(ClusterEngine):
    kind = "presto"
    dialect = "presto"
    _options = {"protocol", "password", "source", "dialect"}

    def __init__(self, url: str, timeout: float = 30.0, poll_interval: float = 0.2, **kw: Any):
        super().__init__(url, timeout, poll_interval)
        parsed = ClusterURL.parse(url)
        parsed.take(self._options)
        if len(parsed.path) > 2:
            raise InputError(f"{self.kind} URL is {self.kind}://host:port/catalog/schema")
        self.host, self.port = parsed.host, parsed.port
        self.catalog = parsed.path[0] if parsed.path else "hive"
        self.schema = parsed.path[1] if len(parsed.path) > 1 else "spot"
        self.protocol = parsed.options.get("protocol", "http")
        if self.protocol not in ("http", "https"):
            raise InputError(f"protocol={self.protocol}: use http or https")
        self.password = parsed.options.get("password")
        if self.password and self.protocol != "https":
            raise InputError(f"{self.kind} sends passwords only over https: add &protocol=https")
        self.user = parsed.user
        self.source = parsed.options.get("source", "spot-lab")
        self._probe()

    def connect_args(self) -> dict[str, Any]:
        """Keyword arguments given to PyHive's connect() (tested: no server runs here)."""
        args: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "username": self.user,
            "catalog": self.catalog,
            "schema": self.schema,
            "protocol": self.protocol,
            "source": self.source,
            "poll_interval": self.poll_interval,
            "requests_kwargs": {"timeout": self.timeout},
        }
        if self.password:
            args["password"] = self.password
        return args

    def _module(self):
        from pyhive import presto

        return presto

    def _probe(self) -> None:
        """Fail at connect time, within the timeout, when the coordinator is unreachable."""
        import requests

        where = f"{self.protocol}://{self.host}:{self.port}"
        try:
            requests.get(f"{where}/v1/info", timeout=self.timeout)
        except requests.Timeout:
            raise QueryError(
                f"{self.kind} at {where} did not answer within {self.timeout:g} s: check the "
                "host, the port and the network path; raise SpotLab.timeout for slow links"
            ) from None
        except requests.RequestException:
            raise QueryError(
                f"cannot reach {self.kind} at {where}: check that the coordinator runs there "
                "and the port is open"
            ) from None

    def _execute(self, sql: str, values: list[Any]) -> pa.Table:
        cursor = self._module().connect(**self.connect_args()).cursor()
        started = time.monotonic()
        try:
            cursor.execute(sql, tuple(values) if values else None)
            description = None
            while description is None and cursor.poll() is not None:
                description = cursor.description
            description = cursor.description or []
            rows: list[tuple] = []
            while True:
                batch = cursor.fetchmany(FETCH_ROWS)
                if not batch:
                    break
                rows.extend(batch)
                elapsed = time.monotonic() - started
                if elapsed >= self.progress_after:
                    self.progress(self.kind, "FETCHING", elapsed, False)
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):  # the interrupt wins
                cursor.cancel()
            raise
        except QueryError:
            raise
        except Exception as exc:  # noqa: BLE001 - driver errors become one line
            raise self.error(sql, exc) from None
        names = [d[0] for d in description]
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
        return pa.Table.from_arrays([pa.array(list(c)) for c in columns], names=names)


class TrinoEngine(PrestoEngine):
    kind = "trino"
    dialect = "trino"

    def _module(self):
        from pyhive import trino

        return trino
