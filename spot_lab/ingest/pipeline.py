"""One source file through its mapping into staged partition files (spot_lab.ingest.writer):
blocks of whole lines -> Arrow chunks -> the mapping's SQL in DuckDB -> good rows, rejected
lines (kept with file and line number) and skipped ones (counted with their reason).
"""

from __future__ import annotations

import hashlib
import math
import queue
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spot_lab.ingest import mapping as M
from spot_lab.ingest import readers
from spot_lab.ingest.detect import Detected
from spot_lab.ingest.plan import Plan, assemble, make_plan
from spot_lab.ingest.sql import Renderer
from spot_lab.ingest.writer import PartitionWriter, RejectWriter

MAX_SKEW_DAYS = 7.0  # an event this far from its chunk's median time is rejected
DUCKDB_MEMORY = "128MB"


@dataclass
class Outcome:
    """What reading one stream gave (the caller commits it)."""

    offset: int = 0  # decompressed bytes consumed (complete lines)
    next_line: int = 1
    hash: str = ""
    rows: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    first_ts: float | None = None
    last_ts: float | None = None
    notes: list[str] = field(default_factory=list)

    def span(self, t: pa.ChunkedArray) -> None:
        if len(t):
            lo, hi = pc.min(t).as_py(), pc.max(t).as_py()
            self.first_ts = lo if self.first_ts is None else min(self.first_ts, lo)
            self.last_ts = hi if self.last_ts is None else max(self.last_ts, hi)


class Limited:
    """A plain file read only up to the size it had when the ingest looked at it: what is
    appended meanwhile waits for the next run (the manifest records that size)."""

    def __init__(self, raw: BinaryIO, limit: int) -> None:
        self.raw, self.left = raw, limit

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        data = self.raw.read(self.left if size < 0 else min(size, self.left))
        self.left -= len(data)
        return data


class Processor:
    """Applies a log's mappings to its chunks, feeding a writer and a reject writer."""

    def __init__(self, con: duckdb.DuckDBPyConnection, found: Detected, writer: PartitionWriter,
                 rejects: RejectWriter, max_skew_days: float = MAX_SKEW_DAYS,
                 sensor: str | None = None) -> None:  # fmt: skip
        self.con, self.found, self.writer, self.rejects = con, found, writer, rejects
        kind = None if found.family == "suricata" else found.kind
        self.maps = M.for_source(found.family, kind)
        self.renderers = {m.name: Renderer(m) for m in self.maps}
        self.plans: dict[tuple, Plan] = {}
        self.memo: dict = {}  # the distinct conversions' values, for every chunk of the log
        self.max_skew = max_skew_days * 86400
        self.sensor = sensor

    def run(self, stream, out: Outcome, first_line: int = 1, offset: int = 0,
            complete: bool = False, progress=None) -> Outcome:  # fmt: skip
        """Read the stream to its end (or to a decompression failure, kept as a reject)."""
        hasher = hashlib.blake2b(digest_size=16)
        blocks = _hashed(readers.blocks(stream, first_line=first_line, offset=offset,
                                        complete=complete), hasher, out)  # fmt: skip
        try:
            for chunk in prefetched(readers.chunks(self.found, self.maps[0], blocks)):
                self.chunk(chunk, out)
                if progress is not None:
                    progress(chunk)
        except readers.Truncated as exc:
            self.rejects.add(
                exc.line, f"the data is truncated or corrupt from this line on ({exc})", ""
            )
            out.notes.append("truncated")
        out.hash = hasher.hexdigest()
        return out

    def chunk(self, chunk: readers.Chunk, out: Outcome) -> None:
        for line, reason, text in chunk.bad:
            self.rejects.add(line, reason, text)
        if chunk.table.num_rows == 0:
            return
        for m, rows in self._routes(chunk, out):
            plan = self._plan(m, chunk.layout)
            self.con.register("_chunk", rows)
            try:
                result = self.con.sql(plan.sql).to_arrow_table()
            finally:
                self.con.unregister("_chunk")
            self._result(m, chunk, assemble(self.con, plan, rows, result, self.memo), out)

    def _plan(self, m: M.Mapping, layout) -> Plan:
        key = (m.name, layout)
        if key not in self.plans:
            self.plans[key] = make_plan(self.con, self.renderers[m.name], layout)
        return self.plans[key]

    def _routes(self, chunk: readers.Chunk, out: Outcome):
        """(mapping, rows) pairs: Suricata's events go to the mapping of their event_type."""
        if not self.maps[0].route:
            yield self.maps[0], chunk.table
            return
        self.con.register("_chunk", chunk.table)
        try:
            routed = self.con.sql(
                "SELECT *, try(json_extract_string(line, '$.event_type')) AS _route, "
                "json_valid(line) AS _valid FROM _chunk"
            ).to_arrow_table()
        finally:
            self.con.unregister("_chunk")
        route = routed["_route"]
        for bad in routed.filter(pc.is_null(route)).to_pylist():  # rare: one by one is fine
            why = (
                "no event_type: not a Suricata EVE event" if bad["_valid"] else "not a JSON object"
            )
            self.rejects.add(bad["_line"], why, bad["line"])
        mapped = set()
        for m in self.maps:
            value = next(iter(m.route.values()))
            mapped.add(value)
            rows = routed.filter(pc.fill_null(pc.equal(route, value), False))
            if rows.num_rows:
                yield m, rows.select(chunk.table.column_names)
        others = routed.filter(pc.invert(pc.is_in(route, pa.array(sorted(mapped)))))
        for value, n in Counter(others["_route"].to_pylist()).items():
            if value is not None:
                out.skipped[f"Suricata {value} events (no Spot table)"] += n

    def _result(self, m: M.Mapping, chunk: readers.Chunk, result: pa.Table, out: Outcome) -> None:
        ok = result
        reason = result["_reason"]
        if reason.null_count < len(reason):  # filters copy every column: only when needed
            rejected = result.filter(pc.is_valid(reason))
            self._reject(chunk, rejected["_line"].to_pylist(), rejected["_reason"].to_pylist())
            ok = result.filter(pc.is_null(reason))
        skip = ok["_skip"]
        if skip.null_count < len(skip):
            for why, n in Counter(skip.drop_null().to_pylist()).items():
                out.skipped[why] += n
            ok = ok.filter(pc.is_null(skip))
        ok = self._near_in_time(chunk, ok)
        if self.sensor and "sensor" in ok.column_names:
            idx = ok.column_names.index("sensor")
            ok = ok.set_column(idx, "sensor", pa.repeat(pa.scalar(self.sensor), ok.num_rows))
        self.writer.add(m.table, ok)
        out.rows[m.table] += ok.num_rows
        out.span(ok["_t"])

    def _near_in_time(self, chunk: readers.Chunk, ok: pa.Table) -> pa.Table:
        """Reject events far from the chunk's median time (a clock gone wrong, a typo)."""
        if ok.num_rows < 3:
            return ok
        t = ok["_t"].to_numpy()
        middle = float(np.median(t))
        far = np.abs(t - middle) > self.max_skew
        if not far.any():
            return ok
        lines = ok["_line"].to_numpy()[far].tolist()
        days = (t[far] - middle) / 86400
        self._reject(chunk, lines, [f"event time {_utc(v)} is {abs(d):,.0f} days from this part "
                                    "of the file" for v, d in zip(t[far], days, strict=True)])  # fmt: skip
        return ok.filter(pa.array(~far))

    def _reject(self, chunk: readers.Chunk, lines: list[int], reasons: list[str]) -> None:
        texts = chunk.texts(lines)
        for line, why in zip(lines, reasons, strict=True):
            self.rejects.add(line, why, texts.get(line, ""))


def prefetched(items: Iterator) -> Iterator:
    """An iterator's items made on a thread one step ahead: the next block is read, hashed and
    parsed while this one is mapped (pyarrow, DuckDB and hashlib release the GIL). The thread
    waits until its item is taken before making the next one, so two chunks are alive, not
    three (one used, one made). Its exceptions are raised here in their place; it is stopped
    and joined on exit."""
    done = object()
    ready: queue.Queue = queue.Queue(maxsize=1)
    taken = threading.Semaphore(0)
    stop = threading.Event()

    def put(item) -> None:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                break
            except queue.Full:
                continue
        while not stop.is_set() and not taken.acquire(timeout=0.1):
            continue

    def produce() -> None:
        try:
            for item in items:
                put((item, None))
                del item  # the consumer's now: not held while the next one is made
                if stop.is_set():
                    return
            put((done, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put((done, exc))

    thread = threading.Thread(target=produce, name="spot-lab-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = ready.get()
            taken.release()
            if item is done:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        thread.join()  # it finishes its block: the stream stays open until then


def _hashed(blocks, hasher, out: Outcome):
    for block in blocks:
        hasher.update(block.data)
        out.offset = block.end
        out.next_line = block.first_line + block.lines
        yield block


def _utc(seconds: float) -> str:
    import datetime as dt

    if not math.isfinite(seconds):
        return str(seconds)
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")  # a block's query needs far less
    con.execute("SET enable_progress_bar = false")
    return con
