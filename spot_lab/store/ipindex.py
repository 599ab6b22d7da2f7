"""%spot_threat's per-day IP index of flows on the embedded lake (issue 4).

An investigation needs the anchor's flows. On the raw day that is a scan of the sip and dip
columns of every hourly file, because the anchor's flows are spread over all of them. The
index keeps every flow once per distinct side (`flow_by_ip`, see spot_lab.store.schema), sorted by
ip, so the min/max statistics of its row groups let DuckDB read only the anchor's few row
groups; `flow_port_counts` keeps the day's connections per port (port rarity without a scan).

A manifest of the raw files the index was built from (relative path, size, mtime_ns) sits
beside it: `is_fresh` compares it with the files on disk, so the index is used only while
the day's raw data is unchanged; otherwise the investigation scans the raw day as before.

Built by `spot-lab score --type flow` (the day's OA step) and `spot-lab index`. Only the
embedded engine uses it: cluster engines (Hive, Spark, Presto, Trino) read the raw table.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from spot_lab import queries
from spot_lab.dates import parse_date
from spot_lab.errors import InputError, LakeError
from spot_lab.store.lake import DATA_FILE, Lake, atomic_path, parquet_scan
from spot_lab.store.schema import TABLES

INDEX, PORTS = "flow_by_ip", "flow_port_counts"
MANIFEST = "_manifest.json"  # '_': Hive and Spark skip it, and it is no *.parquet to the views
# Rows per row group. Smaller groups read less per lookup but DuckDB pays for every group's
# metadata on each scan: on a 10M-flow day (20M index rows) 16k-row groups cost 0.1-0.3 s a
# lookup, 128k-row groups 0.02-0.05 s (bench/bench_threat.py's day).
ROW_GROUP_SIZE = 131_072
BUILD_MEMORY = "1GB"  # DuckDB's memory for the build (a 10M-flow day held 4.4 GB unbounded)
_VERSION = 1  # a manifest of another version is stale: the index is rebuilt, never misread


@dataclass(frozen=True)
class IndexResult:
    day: dt.date
    raw_files: int
    raw_bytes: int
    rows: int  # index rows: each flow once per distinct side
    index_bytes: int
    seconds: float

    def summary(self) -> str:
        return (
            f"flow {self.day}: indexed {self.rows:,} rows from {self.raw_files} raw files into "
            f"{INDEX} and {PORTS}, {_mb(self.index_bytes)} on disk "
            f"({_mb(self.raw_bytes)} raw) in {self.seconds:.1f} s"
        )


def raw_files(lake: Lake, day: dt.date) -> list[Path]:
    """The day's raw flow files, every hour."""
    return sorted(lake.partition_path("flow", day).glob("h=*/*.parquet"))


def build(lake: Lake | str | Path, day: dt.date | str, *, progress: bool = False) -> IndexResult:
    """Write the day's `flow_by_ip` and `flow_port_counts` from its raw flow files, then the
    manifest. InputError (nothing written) for a day without flow data."""
    lake = lake if isinstance(lake, Lake) else Lake(lake)
    day = parse_date(day)
    began = time.perf_counter()
    # one builder at a time, so the manifest always describes the data written with it
    with lake.lock(f"{INDEX}.build"):
        files = raw_files(lake, day)
        if not files:
            raise _no_data(lake, day)
        stamp = _stamp(lake, files)  # taken before reading: a later change makes it stale
        manifest = lake.partition_path(INDEX, day) / MANIFEST
        check_replaceable(lake, day)  # refused before anything changes (a read-only lake...)
        manifest.unlink(missing_ok=True)  # a half-rebuilt index is never fresh
        raw = parquet_scan(TABLES["flow"], files)
        con = duckdb.connect()
        spill = tempfile.TemporaryDirectory(prefix="spot-lab-index-")
        try:
            con.execute("SET enable_progress_bar = false")  # progress is our own lines
            # the sort of a big day spills to disk instead of holding the day in memory
            con.execute(f"SET memory_limit = '{BUILD_MEMORY}'")
            con.execute("SET temp_directory = ?", [spill.name])
            rows = _write(lake, con, day, INDEX, "flow_by_ip_rows", raw, "ip", progress)
            _write(lake, con, day, PORTS, "flow_port_counts_rows", raw, "dport", progress)
        except duckdb.Error as exc:  # e.g. a corrupt raw file: one line naming it
            raise LakeError(f"cannot index flow {day}: {' '.join(str(exc).split())}") from None
        finally:
            con.close()
            spill.cleanup()
        with atomic_path(manifest, lake.tmp_dir) as tmp:
            tmp.write_text(json.dumps({"version": _VERSION, "raw": stamp}) + "\n")
    written = sum((lake.partition_path(t, day) / DATA_FILE).stat().st_size for t in (INDEX, PORTS))
    return IndexResult(day, len(files), sum(s for _, s, _ in stamp), rows, written,
                       time.perf_counter() - began)  # fmt: skip


def check_replaceable(lake: Lake, day: dt.date) -> None:
    """WriteError when the day's index partitions cannot be replaced (a read-only lake, a
    user's file in one): `spot-lab score` asks before it scores, so it writes nothing then."""
    for name in (INDEX, PORTS):
        lake.check_replaceable(name, day)


def is_fresh(lake: Lake, day: dt.date) -> bool:
    """The day's index is complete and was built from exactly the raw files now on disk."""
    folder = lake.partition_path(INDEX, day)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        current = _stamp(lake, raw_files(lake, day))
    except (OSError, ValueError):  # no index, a torn manifest, a raw file removed meanwhile
        return False
    return (
        isinstance(manifest, dict)
        and manifest.get("version") == _VERSION
        and manifest.get("raw") == current
        and (folder / DATA_FILE).is_file()
        and (lake.partition_path(PORTS, day) / DATA_FILE).is_file()
    )


def covers(lake: Lake, days: Iterable[dt.date]) -> bool:
    """Every one of the days has a fresh index."""
    return all(is_fresh(lake, day) for day in days)


def _write(lake, con, day, name, rows_query, raw, order, progress) -> int:
    """One index table's day partition, sorted by `order`, written atomically; its row count."""
    tick = time.perf_counter()
    cols = ", ".join(f"CAST({c.name} AS {c.duckdb_type}) AS {c.name}" for c in TABLES[name].columns)
    rows = queries.render("ipindex", rows_query, raw=raw)
    counts = []

    def copy(target: Path) -> None:
        sql = queries.render("ipindex", "write_sorted", columns=cols, rows=rows, order=order,
                   target=str(target).replace("'", "''"), row_group_size=str(ROW_GROUP_SIZE))  # fmt: skip
        counts.append(con.execute(sql).fetchone()[0])  # COPY answers the rows it wrote

    lake.write_partition(name, day, copy)
    if progress:
        print(f"  flow {day}: {name} written ({counts[0]:,} rows, "
              f"{time.perf_counter() - tick:.1f} s)", file=sys.stderr, flush=True)  # fmt: skip
    return counts[0]


def _stamp(lake: Lake, files: list[Path]) -> list[list]:
    """(relative path, size, mtime_ns) of each file: what the manifest records."""
    out = []
    for path in files:
        st = path.stat()
        out.append([path.relative_to(lake.root).as_posix(), st.st_size, st.st_mtime_ns])
    return out


def _no_data(lake: Lake, day: dt.date) -> InputError:
    listed = ", ".join(str(d) for d in lake.days("flow")[-10:]) or "none"
    return InputError(f"no flow data on {day} to index: days with flow data: {listed}")


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"
