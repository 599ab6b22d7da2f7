"""HiveServer2 (Apache Hive, Spark Thrift Server) through PyHive: async execute, poll with
progress, cancel on interrupt.

Results are fetched in big columnar batches (Thrift's columnar result set, decoded by the
C-accelerated Thrift protocol) straight into Arrow arrays: no row tuples.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from typing import Any

import numpy as np
import pyarrow as pa

from spot_lab.engines.cluster_base import FETCH_ROWS, ClusterEngine, ClusterURL, _one_line
from spot_lab.errors import InputError, QueryError

HIVE_AUTH_MODES = ("NONE", "NOSASL", "LDAP", "KERBEROS", "CUSTOM")

# HiveServer2 type names -> Arrow types (anything else arrives as strings)
_HIVE_ARROW = {
    "BOOLEAN_TYPE": pa.bool_(),
    "TINYINT_TYPE": pa.int8(),
    "SMALLINT_TYPE": pa.int16(),
    "INT_TYPE": pa.int32(),
    "BIGINT_TYPE": pa.int64(),
    "FLOAT_TYPE": pa.float32(),
    "DOUBLE_TYPE": pa.float64(),
}
# Sent as strings by HiveServer2, cast to their real type in Arrow
_HIVE_CAST = {
    "DECIMAL_TYPE": pa.float64(),
    "TIMESTAMP_TYPE": pa.timestamp("us"),
    "DATE_TYPE": pa.date32(),
}


class HiveEngine(ClusterEngine):
    """HiveServer2 through PyHive: async execute, poll with progress, cancel on interrupt."""

    kind = "hive"

    def __init__(self, url: str, timeout: float = 30.0, poll_interval: float = 0.2, **kw: Any):
        super().__init__(url, timeout, poll_interval)
        parsed = ClusterURL.parse(url)
        parsed.take({"auth", "password", "kerberos_service_name", "dialect"})
        self.host, self.port = parsed.host, parsed.port
        self.database = parsed.path[0] if parsed.path else "default"
        if len(parsed.path) > 1:
            raise InputError(f"hive URL takes one database: hive://host:port/<db>, got {url!r}")
        self.auth = parsed.options.get("auth", "NONE").upper()
        if self.auth not in HIVE_AUTH_MODES:
            raise InputError(f"auth={self.auth} unknown: use one of {', '.join(HIVE_AUTH_MODES)}")
        self.password = parsed.options.get("password")
        self.kerberos_service_name = parsed.options.get("kerberos_service_name")
        if self.auth in ("LDAP", "CUSTOM") and not self.password:
            raise InputError(f"auth={self.auth} needs a password: add &password=... to the URL")
        if self.auth == "KERBEROS" and not self.kerberos_service_name:
            raise InputError("auth=KERBEROS needs &kerberos_service_name=hive (your HS2 principal)")
        self.dialect = parsed.options.get("dialect", "spark").lower()
        if self.dialect not in ("spark", "hive"):
            raise InputError(f"dialect={self.dialect} unknown: use spark or hive")
        self.user = parsed.user
        self.connection = self._connect()

    def connect_args(self) -> dict[str, Any]:
        """Arguments of the transport, as PyHive would build them (shown in errors, tested)."""
        return {
            "host": self.host,
            "port": self.port,
            "auth": self.auth,
            "database": self.database,
            "username": self.user,
            "password": self.password,
            "kerberos_service_name": self.kerberos_service_name,
        }

    def _transport(self):
        from thrift.transport import TSocket, TTransport

        sock = TSocket.TSocket(self.host, self.port)
        sock.setTimeout(self.timeout * 1000)  # connect + handshake bounded by the timeout
        if self.auth == "NOSASL":
            return sock, TTransport.TBufferedTransport(sock)
        import thrift_sasl
        from pyhive.hive import get_installed_sasl

        mechanism = "GSSAPI" if self.auth == "KERBEROS" else "PLAIN"
        password = self.password or "x"  # NONE mode: any non-empty password

        def sasl():
            return get_installed_sasl(
                host=self.host,
                sasl_auth=mechanism,
                service=self.kerberos_service_name,
                username=self.user or "spot",
                password=password,
            )

        return sock, thrift_sasl.TSaslClientTransport(sasl, mechanism, sock)

    def _connect(self):
        from pyhive import hive

        sock, transport = self._transport()
        where = f"{self.host}:{self.port}"
        quiet = logging.getLogger("thrift.transport.TSocket")  # it logs what we raise anyway
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        try:
            conn = hive.Connection(
                thrift_transport=transport, username=self.user, database=self.database
            )
        except Exception as exc:  # noqa: BLE001 - every failure becomes one clear line
            raise self._connect_error(exc, where) from None
        finally:
            quiet.setLevel(level)
        conn._client._iprot = _fast_protocol(transport)
        sock.setTimeout(None)  # queries may legitimately run long; cancel is Ctrl-C
        return conn

    def _connect_error(self, exc: BaseException, where: str) -> QueryError:
        text = _one_line(exc)
        if "Length exceeded max allowed" in text or "read 0 bytes" in text:
            return QueryError(
                f"hive at {where} rejected the handshake: its authentication mode is not "
                f"auth={self.auth}; set ?auth=NOSASL|NONE|LDAP|KERBEROS in the URL to match the "
                "server's hive.server2.authentication"
            )
        if isinstance(exc, socket.timeout) or "timed out" in text or "timeout" in text:
            return QueryError(
                f"hive at {where} did not answer within {self.timeout:g} s: check the host, the "
                f"port, the network path and the auth mode (auth={self.auth}); "
                "raise SpotLab.timeout for slow links"
            )
        if "Could not connect" in text or "refused" in text.lower():
            return QueryError(
                f"cannot reach hive at {where}: check that HiveServer2 / the Spark Thrift Server "
                "runs there and the port is open"
            )
        if "database" in text.lower() or "SCHEMA_NOT_FOUND" in text:
            return QueryError(f"hive at {where}: {text} (check the database in the URL)")
        return QueryError(f"hive at {where}: {text}")

    def _execute(self, sql: str, values: list[Any]) -> pa.Table:
        from TCLIService import ttypes

        cursor = self.connection.cursor()
        try:
            with _HeldInterrupts() as held:
                try:
                    cursor.execute(sql, tuple(values) if values else None, async_=True)
                    self._wait(cursor, ttypes, held)
                    handle = cursor._operationHandle
                    if handle is None or not handle.hasResultSet:
                        return pa.table({})
                    return self._fetch_arrow(cursor, ttypes, held)
                except KeyboardInterrupt:
                    self._cancel(cursor)
                    raise
        except QueryError:
            raise
        except Exception as exc:  # noqa: BLE001 - driver errors become one line
            raise self.error(sql, _HiveErrorText(exc)) from None
        finally:
            with contextlib.suppress(Exception):  # closing a dead operation is best effort
                cursor.close()

    def _wait(self, cursor, ttypes, held: _HeldInterrupts) -> None:
        states = ttypes.TOperationState
        names = states._VALUES_TO_NAMES
        started = time.monotonic()
        shown = False
        delay = min(0.02, self.poll_interval)
        while True:
            status = cursor.poll(get_progress_update=False)
            state = status.operationState
            self.last_state = names.get(state, str(state)).replace("_STATE", "")
            elapsed = time.monotonic() - started
            done = state not in (
                states.INITIALIZED_STATE,
                states.PENDING_STATE,
                states.RUNNING_STATE,
            )
            if shown or elapsed >= self.progress_after:
                self.progress(self.kind, self.last_state, elapsed, done)
                shown = True
            if state == states.FINISHED_STATE:
                return
            if done:
                message = status.errorMessage or f"query ended in state {self.last_state}"
                raise _HiveErrorText(message)
            held.check()
            time.sleep(delay)
            delay = min(delay * 2, self.poll_interval)  # short queries return fast

    def _cancel(self, cursor) -> None:
        try:
            cursor.cancel()
            self.last_state = "CANCELED"
        except Exception:  # noqa: BLE001 - the interrupt wins even if cancel fails
            pass

    def _fetch_arrow(self, cursor, ttypes, held: _HeldInterrupts) -> pa.Table:
        description = cursor.description
        names = [d[0].split(".")[-1] for d in description]  # Hive may prefix with the table
        type_codes = [d[1] for d in description]
        chunks: list[list[pa.Array]] = [[] for _ in names]
        client = self.connection.client
        handle = cursor._operationHandle
        while True:
            held.check()
            request = ttypes.TFetchResultsReq(
                operationHandle=handle,
                orientation=ttypes.TFetchOrientation.FETCH_NEXT,
                maxRows=FETCH_ROWS,
            )
            response = client.FetchResults(request)
            if response.status.statusCode not in (
                ttypes.TStatusCode.SUCCESS_STATUS,
                ttypes.TStatusCode.SUCCESS_WITH_INFO_STATUS,
            ):
                raise _HiveErrorText(response.status.errorMessage or "fetch failed")
            columns = response.results.columns or []
            count = 0
            for i, (column, code) in enumerate(zip(columns, type_codes, strict=False)):
                array = _column_to_arrow(column, code)
                count = len(array)
                chunks[i].append(array)
            if count == 0:
                break
        arrays = []
        for parts, code in zip(chunks, type_codes, strict=True):
            kind = _HIVE_ARROW.get(code) or _HIVE_CAST.get(code) or pa.string()
            arrays.append(pa.chunked_array([p for p in parts if len(p)], type=kind))
        return pa.Table.from_arrays(arrays, names=names)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a dead transport is best effort
            self.connection.close()


class _HeldInterrupts:
    """SIGINT (the kernel's stop button) held while a Thrift call is on the wire and raised at
    the next safe point (between polls, between fetches): a reply cut in half would leave the
    connection unusable. Only the main thread can handle signals; elsewhere nothing changes."""

    def __init__(self) -> None:
        self.pending = self.installed = False
        self.previous: Any = None

    def __enter__(self) -> _HeldInterrupts:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._hold)
            self.installed = True
        return self

    def _hold(self, _signum, _frame) -> None:
        self.pending = True

    def check(self) -> None:
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt

    def __exit__(self, kind, *_) -> None:
        if self.installed:  # None: a handler set outside Python; Python's own is the fallback
            signal.signal(signal.SIGINT, self.previous or signal.default_int_handler)
        if self.pending and kind is None:
            raise KeyboardInterrupt


def _fast_protocol(transport):
    """Thrift's C decoder for HiveServer2 replies: result batches decode about 9x faster.

    PyHive's generated TCLIService classes predate the decoder's spec format ((class, spec)
    tuples where it wants [class, spec] lists); they are converted once, which leaves the
    pure-Python protocol working as before.
    """
    from TCLIService import TCLIService, ttypes
    from thrift.protocol.TBinaryProtocol import TBinaryProtocolAccelerated

    _convert_specs(ttypes, TCLIService)  # the data types and the calls' *_result wrappers

    class Protocol(TBinaryProtocolAccelerated):
        def __init__(self, trans) -> None:
            super().__init__(trans)
            decode = self._fast_decode
            if decode is not None:  # None without thrift's C extension: the pure-Python path
                self._fast_decode = lambda obj, iprot, args: decode(obj, iprot, list(args))

    return Protocol(transport)


def _convert_specs(*modules) -> None:
    if all(getattr(m, "_spot_lab_specs", False) for m in modules):
        return
    done: dict[type, Any] = {}

    def args_of(args: Any) -> Any:
        if isinstance(args, tuple) and len(args) == 2 and isinstance(args[0], type):
            return [args[0], spec_of(args[0])]
        if isinstance(args, tuple):
            return tuple(args_of(a) for a in args)
        return args

    def spec_of(cls: type) -> Any:
        if cls not in done:
            done[cls] = cls.thrift_spec  # guards against cycles while converting
            if cls.thrift_spec is not None:
                cls.thrift_spec = tuple(
                    None if f is None else (f[0], f[1], f[2], args_of(f[3]), *f[4:])
                    for f in cls.thrift_spec
                )
            done[cls] = cls.thrift_spec
        return done[cls]

    for module in modules:
        for value in list(vars(module).values()):
            if isinstance(value, type) and getattr(value, "thrift_spec", None) is not None:
                spec_of(value)
        module._spot_lab_specs = True


class _HiveErrorText(Exception):
    """A HiveServer2 error reduced to its first meaningful line."""

    def __init__(self, source: Any) -> None:
        status = getattr(getattr(source, "args", [None])[0], "status", None)
        text = getattr(status, "errorMessage", None) or str(source)
        super().__init__(_one_line(Exception(text)))


def _column_to_arrow(column: Any, type_code: str) -> pa.Array:
    """One TColumn (values + null bitmap) -> an Arrow array, without per-row Python work."""
    wrapper = next(v for v in column.__dict__.values() if v is not None)
    values = wrapper.values
    n = len(values)
    mask = None
    if wrapper.nulls and any(wrapper.nulls):
        bits = np.unpackbits(np.frombuffer(wrapper.nulls, dtype=np.uint8), bitorder="little")
        mask = bits[:n].astype(bool)
        if len(mask) < n:
            mask = np.concatenate([mask, np.zeros(n - len(mask), dtype=bool)])
    if type_code in _HIVE_ARROW:
        kind = _HIVE_ARROW[type_code]
        if kind == pa.float32():
            return pa.array(np.asarray(values, dtype=np.float64), mask=mask).cast(kind)
        return pa.array(values, type=kind, mask=mask)
    if isinstance(values, list) and values and isinstance(values[0], bytes):
        values = [v.decode("utf-8", "replace") for v in values]
    array = pa.array(values, type=pa.string(), mask=mask)
    if type_code in _HIVE_CAST:
        array = array.cast(_HIVE_CAST[type_code])
    return array


def external_table_ddl(name: str, location: str, database: str = "spot") -> str:
    """Spot's DDL for one table of spot_lab.store.schema over a folder (Hive / Spark SQL)."""
    from spot_lab.store.schema import table

    tbl = table(name)
    parts = ", ".join(f"{c.name} {c.hive_type}" for c in tbl.partitions)
    where = str(location).replace("\\", "\\\\").replace("'", "\\'")
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS {database}.{tbl.name} ({tbl.ddl_columns()}) "
        f"PARTITIONED BY ({parts}) STORED AS PARQUET LOCATION '{where}'"
    )
