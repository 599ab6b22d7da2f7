"""Rows of one source file into hour partitions, written whole or not at all.

Everything an ingest of one file writes goes first to its staging folder in the lake
(`.spot-lab/ingest/staging/<sid>/`, the same file system, outside every table's glob); the
manifest module renames the finished files into their partitions (one atomic rename
each), so a reader sees an hour's file complete or not at all.

Names are deterministic: `part-<sid>-<segment>-<k>.parquet`, sid the source's id, segment
the byte offset the ingest started at (a live file that grew adds segments), k a counter
when one hour needs several files. Re-doing an interrupted ingest writes the same names,
so nothing is ever duplicated.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from spot_lab.store.lake import INGEST_STATE, Lake
from spot_lab.store.schema import TABLES

COMPRESSION = "zstd"
# Columns whose values rarely repeat: a dictionary only costs time for them (and falls back)
NO_DICTIONARY = {"uid", "extra", "frame_time", "unix_tstamp", "tdur", "sport", "ibyt", "obyt",
                 "fulluri", "uripath", "uriquery", "referer", "dns_a", "scbytes", "csbytes"}  # fmt: skip
LANES = 2  # writer threads: parquet encoding is the costliest step and runs beside parsing
IN_FLIGHT_ROWS = 64_000  # rows handed to the writer threads and not yet written (memory bound)
ROW_GROUP_ROWS = 64_000  # rows buffered per partition before a row group is written
BUFFER_ROWS = 64_000  # rows buffered over all partitions (memory bound; time-ordered logs fill
# one or two hours at a time, so row groups stay near ROW_GROUP_ROWS)
MAX_OPEN = 48  # open parquet writers; the least recently used is closed beyond
PRIVATE = ("_t", "_hour", "_line", "_reason", "_skip")


def _by_hour(rows: pa.Table):
    """(hour, rows) groups: slices (no copy) when hours come in order, as logs mostly do."""
    hours = rows["_hour"].to_numpy()
    cuts = np.flatnonzero(np.diff(hours)) + 1
    if len(cuts) == 0 or np.all(np.diff(hours[np.r_[0, cuts]]) > 0):
        bounds = np.r_[0, cuts, len(hours)]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            yield int(hours[a]), rows.slice(int(a), int(b - a))
        return
    for hour in np.unique(hours):
        yield int(hour), rows.filter(pc.equal(rows["_hour"], pa.scalar(int(hour), pa.int64())))


def _write(writer: pq.ParquetWriter, pieces: list[pa.Table], schema: pa.Schema) -> None:
    """One row group (on a writer thread)."""
    writer.write_table(pa.concat_tables(pieces).cast(schema))


def staging_dir(lake: Lake, sid: str) -> Path:
    return lake.root / INGEST_STATE / "staging" / sid


def hour_partition(table: str, hour: int) -> tuple[str, dt.date]:
    """(partition folder relative to the lake, day) of an epoch hour."""
    at = dt.datetime.fromtimestamp(hour * 3600, dt.timezone.utc)
    tbl = TABLES[table]
    rel = tbl.partition_dir(at.year, at.month, at.day, at.hour if tbl.hourly else None)
    return rel, at.date()


def file_schema(table: str) -> pa.Schema:
    tbl = TABLES[table]
    return tbl.file_schema if tbl.is_raw else tbl.arrow_schema


@dataclass
class _Part:
    rel: str  # partition folder
    day: dt.date
    table: str
    lane: int = 0  # the writer thread of its files (a file's row groups stay in order)
    k: int = 0
    rows: int = 0
    buffered: list[pa.Table] = field(default_factory=list)
    writer: pq.ParquetWriter | None = None
    staged: Path | None = None
    done: list[tuple[Path, str]] = field(default_factory=list)  # (staged file, final relpath)


class PartitionWriter:
    """Buffers rows per partition and writes them as row groups into staged files.

    Parquet encoding runs on LANES writer threads beside the next block's parsing (pyarrow
    releases the GIL); each partition keeps to one thread, so its row groups stay in order.
    At most IN_FLIGHT_ROWS rows wait for a writer thread (memory bound)."""

    def __init__(self, lake: Lake, sid: str, segment: int) -> None:
        self.lake, self.sid, self.segment = lake, sid, segment
        self.stage = staging_dir(lake, sid)
        self.stage.mkdir(parents=True, exist_ok=True)
        self.parts: dict[tuple[str, str], _Part] = {}
        self.buffered = 0
        self._clock = 0
        self._used: dict[tuple[str, str], int] = {}
        self._lanes = [ThreadPoolExecutor(1, thread_name_prefix=f"spot-lab-writer-{i}")
                       for i in range(LANES)]  # fmt: skip
        self._pending: list[tuple[Future, int]] = []  # (future, rows) in submission order

    def add(self, table: str, rows: pa.Table) -> None:
        """Rows of one table with their `_hour`: split by partition, buffered."""
        if rows.num_rows == 0:
            return
        rows = rows.select(file_schema(table).names + ["_hour"])
        touched = set()
        for hour, subset in _by_hour(rows):
            part = self._part(table, hour)
            touched.add(id(part))
            part.buffered.append(subset.drop_columns(["_hour"]))
            part.rows += subset.num_rows
            self.buffered += subset.num_rows
            if sum(t.num_rows for t in part.buffered) >= ROW_GROUP_ROWS:
                self._flush(part)
        for part in self.parts.values():
            # an hour this block added nothing to is done for now (logs come in time order):
            # its rows go out as a row group instead of waiting in memory
            if (part.table == table and id(part) not in touched) or self.buffered >= BUFFER_ROWS:
                self._flush(part)

    def _part(self, table: str, hour: int) -> _Part:
        rel, day = hour_partition(table, hour)
        key = (table, rel)
        if key not in self.parts:
            self.parts[key] = _Part(rel, day, table, lane=len(self.parts) % LANES)
        return self.parts[key]

    def _flush(self, part: _Part) -> None:
        if not part.buffered:
            return
        pieces, part.buffered = part.buffered, []
        rows = sum(t.num_rows for t in pieces)
        self.buffered -= rows
        schema = file_schema(part.table)
        if part.writer is None:
            self._make_room()
            name = f"part-{self.sid}-{self.segment:012x}-{part.k}.parquet"
            part.staged = self.stage / f"{part.table}-{part.rel.replace('/', '_')}-{name}"
            dictionary = [n for n in schema.names if n not in NO_DICTIONARY]
            part.writer = pq.ParquetWriter(part.staged, schema, compression=COMPRESSION,
                                           use_dictionary=dictionary)  # fmt: skip
            part.done.append((part.staged, f"{part.rel}/{name}"))
        self._submit(part, _write, part.writer, pieces, schema, rows=rows)
        self._clock += 1
        self._used[(part.table, part.rel)] = self._clock

    def _submit(self, part: _Part, fn, *args, rows: int = 0) -> None:
        """Hand work to the part's writer thread, first waiting (oldest first) while too many
        rows are in flight; a writer's error is raised here."""
        for future, _ in self._pending:
            if future.done():
                future.result()  # raises a writer thread's error
        self._pending = [(f, n) for f, n in self._pending if not f.done()]
        while self._pending and sum(n for _, n in self._pending) + rows > IN_FLIGHT_ROWS:
            self._pending.pop(0)[0].result()
        self._pending.append((self._lanes[part.lane].submit(fn, *args), rows))

    def _drain(self) -> None:
        for future, _ in self._pending:
            future.result()
        self._pending = []

    def _make_room(self) -> None:
        open_parts = [p for p in self.parts.values() if p.writer is not None]
        if len(open_parts) < MAX_OPEN:
            return
        oldest = min(open_parts, key=lambda p: self._used.get((p.table, p.rel), 0))
        self._submit(oldest, oldest.writer.close)
        oldest.writer = None
        oldest.k += 1  # more rows for that partition go to a new file

    def finish(self) -> list[tuple[Path, str]]:
        """Close everything; (staged file, final path relative to the lake) of each file."""
        out = []
        for part in self.parts.values():
            self._flush(part)
            if part.writer is not None:
                self._submit(part, part.writer.close)
                part.writer = None
            out += part.done
        self._drain()
        for lane in self._lanes:
            lane.shutdown()
        return out

    def days(self) -> dict[str, set[dt.date]]:
        """Days touched per table."""
        touched: dict[str, set[dt.date]] = {}
        for part in self.parts.values():
            if part.rows:
                touched.setdefault(part.table, set()).add(part.day)
        return touched

    def rows(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for part in self.parts.values():
            counts[part.table] = counts.get(part.table, 0) + part.rows
        return counts

    def abort(self) -> None:
        for lane in self._lanes:
            lane.shutdown(wait=True, cancel_futures=True)
        for part in self.parts.values():
            if part.writer is not None:
                part.writer.close()
        shutil.rmtree(self.stage, ignore_errors=True)


class RejectWriter:
    """Rejected lines of one source as JSON lines: file, line, reason, text."""

    def __init__(self, lake: Lake, sid: str, segment: int, source: Path) -> None:
        self.source = str(source)
        stem = source.name.replace("/", "_")
        suffix = f".{segment:x}" if segment else ""
        self.final = f"rejects/{stem}.{sid[:8]}{suffix}.jsonl"
        self.staged = staging_dir(lake, sid) / f"rejects-{segment:012x}.jsonl"
        self.count = 0
        self._fh = None

    def add(self, line: int, reason: str, text: str) -> None:
        if self._fh is None:
            self.staged.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.staged, "w", encoding="utf-8")  # noqa: SIM115 - closed in finish
        record = {"file": self.source, "line": int(line), "reason": reason, "text": text}
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.count += 1

    def finish(self) -> list[tuple[Path, str]]:
        if self._fh is None:
            return []
        self._fh.close()
        self._fh = None
        return [(self.staged, self.final)]
