"""The embedded store: a folder laid out like Spot's HDFS warehouse, queried by DuckDB.

Layout (see spot_lab.store.schema): raw tables under <lake>/<type>/hive/y=/m=/d=/h=/*.parquet,
derived tables under <lake>/<type>/hive/oa/<subdir>/y=/m=/d=/*.parquet, context files
under <lake>/context/.

Concurrency rules, so a notebook kernel and the Jupyter server can share one lake:
- DuckDB runs in memory with views over the parquet files: no database file, no lock.
- Every file appears by an atomic rename of a fully written, fsynced temporary file, so
  readers see the old content or the new one, never a torn file.
- Read-modify-write of a partition (analyst scores, storyboards) holds an exclusive
  flock on the table's lock file for the few milliseconds of the write, so concurrent
  writers (in any process) serialise and none loses the other's rows. Readers never lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import glob
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from spot_lab.errors import LakeError
from spot_lab.store.schema import DATA_TYPES, TABLES, Table
from spot_lab.store.schema import table as get_table

DATA_FILE = "data.parquet"  # the single file of a derived (OA) partition
_TMP_SUFFIX = ".partial"  # never matches the *.parquet globs
_DAY_RE = re.compile(r"y=(\d+)/m=(\d+)/d=(\d+)/")  # a partition path's day prefix
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # the words of a query that may name a table
WORK_PREFIX = "_spotlab_"  # spot-lab's temporary working tables and views (scoring, investigation)
# Written by `spot-lab generate` into every demo lake: the only folders spot-lab may ever
# replace are ones carrying it (a user's own lake or folder is never removed).
DEMO_MARK = ".spot-lab-demo.json"
# What a demo lake holds at its top level; anything else there was put by someone else.
_DEMO_ENTRIES = {*DATA_TYPES, "context", "ground_truth.json", DEMO_MARK, ".spot-lab"}
# spot_lab.ingest's state (manifest, journal): a lake holding it has raw files with the
# schema's extension columns, which its views then show (files without them read as NULL).
INGEST_STATE = ".spot-lab/ingest"


def to_arrow(tbl: Table, data: pa.Table | pd.DataFrame) -> pa.Table:
    """Coerce rows to the table's exact parquet schema (column order and types)."""
    if isinstance(data, pd.DataFrame):
        data = pa.Table.from_pandas(data, preserve_index=False)
    missing = [c for c in tbl.column_names if c not in data.column_names]
    if missing:
        raise LakeError(f"rows for {tbl.name} lack columns {missing}")
    return data.select(tbl.column_names).cast(tbl.arrow_schema)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside `target` for any writer (pyarrow, DuckDB's COPY, plain text);
    when the block succeeds it is fsynced and renamed over `target`, so no reader ever sees
    a partial file. On failure `target` is untouched and the temporary file removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}{_TMP_SUFFIX}"
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)  # fsync through any descriptor flushes the file
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(target.parent)


def write_parquet_atomic(data: pa.Table, target: Path) -> None:
    """Write `data` to `target` so that no reader ever sees a partial file."""
    with atomic_path(target) as tmp:
        pq.write_table(data, tmp, compression="zstd")


def parquet_scan(tbl: Table, files: str | Sequence[Path], union_by_name: bool = False) -> str:
    """DuckDB's read_parquet over a glob or a list of files of `tbl`, partitions typed as the
    schema says (paths are spot-lab's own, quoted here; never user values). `union_by_name`
    reads files whose columns differ (ingested files carry the extension columns)."""

    def quote(path) -> str:
        return "'" + str(path).replace("'", "''") + "'"

    source = quote(files) if isinstance(files, str) else f"[{', '.join(map(quote, files))}]"
    hive_types = ", ".join(f"'{p.name}': '{p.duckdb_type}'" for p in tbl.partitions)
    union = ", union_by_name = true" if union_by_name else ""
    return f"read_parquet({source}, hive_partitioning = true, hive_types = {{{hive_types}}}{union})"


def is_demo_lake(root: Path) -> bool:
    """True for a folder that `spot-lab generate` made (it carries DEMO_MARK)."""
    return (root / DEMO_MARK).is_file()


def foreign_entries(root: Path) -> list[Path]:
    """Top-level entries of `root` that a demo lake never holds (a user's files), sorted."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.name not in _DEMO_ENTRIES)


class Lake:
    """A Spot warehouse folder. Cheap to create; open DuckDB connections with `connect()`."""

    def __init__(self, root: str | os.PathLike, *, create: bool = False) -> None:
        self.root = Path(root).expanduser().resolve()
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        elif not self.root.is_dir():
            raise LakeError(
                f"no Spot lake at {self.root}: create one with "
                f"`spot-lab generate --lake {self.root} --date YYYY-MM-DD`, "
                "or point SPOT_LAB_LAKE at a copy of your Spot warehouse"
            )
        elif not any((self.root / t / "hive").is_dir() for t in DATA_TYPES):
            raise LakeError(
                f"{self.root} is not a Spot lake (no flow/hive, dns/hive or proxy/hive folder): "
                "check the path, or generate a demo lake with `spot-lab generate`"
            )

    def __repr__(self) -> str:
        return f"Lake({str(self.root)!r})"

    # ---- paths -------------------------------------------------------------------------
    def partition_path(self, name: str, day: dt.date, hour: int | None = None) -> Path:
        tbl = get_table(name)
        return self.root / tbl.partition_dir(day.year, day.month, day.day, hour)

    def context_path(self, filename: str) -> Path:
        return self.root / "context" / filename

    def files(self, name: str) -> list[Path]:
        return sorted(self.root.glob(get_table(name).glob()))

    def has_data(self, name: str) -> bool:
        tbl = get_table(name)
        # one stat answers for the many tables a lake never wrote (views re-check them per query)
        if not (self.root / tbl.relative_dir()).is_dir():
            return False
        return next(iter(self.root.glob(tbl.glob())), None) is not None

    def days(self, name: str) -> list[dt.date]:
        """Days that hold at least one file of the table, ascending."""
        tbl = get_table(name)
        found = set()
        for path in self.root.glob(tbl.glob()):
            rel = path.relative_to(self.root / tbl.relative_dir()).as_posix()
            match = _DAY_RE.match(rel)
            if match:
                found.add(dt.date(*map(int, match.groups())))
        return sorted(found)

    # ---- writes ------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Exclusive, cross-process writer lock for one table (readers never take it)."""
        lock_dir = self.root / ".spot-lab" / "locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with open(lock_dir / f"{name}.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def append(
        self, name: str, data: pa.Table | pd.DataFrame, day: dt.date, hour: int | None = None
    ) -> Path:
        """Add a new file to a partition (raw ingest style): atomic, never touches other files."""
        tbl = get_table(name)
        if tbl.hourly and hour is None:
            raise LakeError(f"{name} is partitioned by hour: give the hour")
        target = self.partition_path(name, day, hour) / f"part-{uuid.uuid4().hex}.parquet"
        write_parquet_atomic(to_arrow(tbl, data), target)
        return target

    def read_partition(self, name: str, day: dt.date) -> pa.Table:
        """All rows of one day partition of a derived table (empty table when absent)."""
        tbl = get_table(name)
        folder = self.partition_path(name, day)
        parts = [_read_file(p) for p in sorted(folder.glob("*.parquet"))] if folder.is_dir() else []
        if not parts:
            return tbl.arrow_schema.empty_table()
        return pa.concat_tables([to_arrow(tbl, p) for p in parts])

    def update_partition(
        self, name: str, day: dt.date, change: Callable[[pa.Table], pa.Table | pd.DataFrame]
    ) -> pa.Table:
        """Locked read-modify-write of one derived partition; returns the new content.

        `change` gets the current rows and returns the new rows. If it raises, nothing is
        written. The new content replaces the partition in one rename.
        """
        tbl = get_table(name)
        if tbl.is_raw:
            raise LakeError(f"{name} is a raw table: raw data is only appended")
        with self.lock(name):
            current = self.read_partition(name, day)
            new = to_arrow(tbl, change(current))
            self._install(name, day, lambda path: pq.write_table(new, path, compression="zstd"))
        return new

    def write_partition(self, name: str, day: dt.date, write: Callable[[Path], None]) -> Path:
        """Replace a derived partition by the one parquet file that `write(path)` produces
        (e.g. DuckDB's COPY ... TO path): serialised with the table's writers, atomic."""
        if get_table(name).is_raw:
            raise LakeError(f"{name} is a raw table: raw data is only appended")
        with self.lock(name):
            return self._install(name, day, write)

    def _install(self, name: str, day: dt.date, write: Callable[[Path], None]) -> Path:
        """The partition's single file from `write`, renamed in; the caller holds the lock."""
        folder = self.partition_path(name, day)
        with atomic_path(folder / DATA_FILE) as tmp:
            write(tmp)
        for stale in folder.glob("*.parquet"):  # files of a foreign export, now merged
            if stale.name != DATA_FILE:
                stale.unlink()
        return folder / DATA_FILE

    def replace_partition(self, name: str, data: pa.Table | pd.DataFrame, day: dt.date) -> None:
        """Replace a derived partition's rows (model output): atomic, serialised with writers."""
        self.update_partition(name, day, lambda _current: data)

    def append_rows(self, name: str, data: pa.Table | pd.DataFrame, day: dt.date) -> pa.Table:
        """Add rows to a derived partition without losing concurrent writers' rows."""
        tbl = get_table(name)
        rows = to_arrow(tbl, data)
        return self.update_partition(name, day, lambda cur: pa.concat_tables([cur, rows]))

    # ---- reads -------------------------------------------------------------------------
    def connect(self) -> LakeConnection:
        return LakeConnection(self)

    def check(self) -> int:
        """Open the footer of every parquet file; raise naming the first corrupt one."""
        count = 0
        for name in TABLES:
            for path in self.files(name):
                try:
                    pq.read_metadata(path)
                except Exception as exc:  # noqa: BLE001 - any reader failure means corrupt
                    raise LakeError(f"corrupt parquet file {path}: {exc}") from None
                count += 1
        return count


class LakeConnection:
    """An in-memory DuckDB connection with one view per Spot table of a lake.

    Views are made when a query needs them (a DuckDB statement costs about a millisecond and
    binding a view over files reads a footer: making two dozen views at connect cost tens of
    ms per engine): the Spot tables a query names; a query naming none (a catalog listing, a
    user's own view) gets them all, except statements on spot-lab's working tables
    (WORK_PREFIX). Views follow the files on disk: a table without files is re-checked before
    each query that needs it, so rows written by another process show up. Plain DuckDB users
    of `con` (JupySQL) call `refresh()` first to have every view.
    """

    def __init__(self, lake: Lake, con: duckdb.DuckDBPyConnection | None = None) -> None:
        self.lake = lake
        self.con = con or duckdb.connect(":memory:")
        # each parquet footer is parsed once per connection, not again by every query (a
        # view's creation reads one too); DuckDB re-reads a file modified since
        self.con.execute("SET parquet_metadata_cache = true")
        self._with_files: set[str] = set()
        self._made: set[str] = set()

    def refresh(self, query: str | None = None) -> None:
        """Make or update the views `query` needs (see the class); None: every table."""
        for name in TABLES if query is None else _needed(query):
            if name in self._with_files:
                continue
            has_files = self.lake.has_data(name)
            if has_files or name not in self._made:
                self._make(name, has_files)

    def _make(self, name: str, has_files: bool) -> None:
        self.con.execute(self._view_sql(TABLES[name], has_files))
        self._made.add(name)
        if has_files:
            self._with_files.add(name)

    def _view_sql(self, tbl: Table, has_files: bool) -> str:
        extended = bool(tbl.extensions) and (self.lake.root / INGEST_STATE).is_dir()
        cols = tbl.columns + (tbl.extensions if extended else ()) + tbl.partitions
        if not has_files:
            body = ", ".join(f"CAST(NULL AS {c.duckdb_type}) AS {c.name}" for c in cols)
            return f"CREATE OR REPLACE VIEW {tbl.name} AS SELECT {body} LIMIT 0"
        names = ", ".join(c.name for c in cols)
        # the root is escaped ([, *, ?): only the table's own pattern is a glob
        pattern = f"{glob.escape(str(self.lake.root))}/{tbl.glob()}"
        scan = parquet_scan(tbl, pattern, union_by_name=extended)
        return f"CREATE OR REPLACE VIEW {tbl.name} AS SELECT {names} FROM {scan}"

    def sql(self, query: str, params: dict | list | None = None) -> pa.Table:
        """Run SQL (DuckDB dialect, `$name` parameters) and return an Arrow table."""
        self.refresh(query)
        try:
            rel = self.con.sql(query, params=params or None)
            return rel.to_arrow_table() if rel is not None else pa.table({})
        except duckdb.Error as exc:
            raise LakeError(_one_line(exc)) from None

    def close(self) -> None:
        self.con.close()


def _needed(query: str) -> Iterable[str]:
    """The Spot tables a query names; every table when it names none, unless it is a
    statement on spot-lab's own working tables."""
    words = {w.lower() for w in _NAME.findall(query)}
    named = words & TABLES.keys()
    if named or any(w.startswith(WORK_PREFIX) for w in words):
        return named
    return TABLES


def _read_file(path: Path) -> pa.Table:
    """One parquet file, or a LakeError naming it (a corrupt file must not end in a traceback)."""
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise LakeError(f"corrupt parquet file {path}: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
