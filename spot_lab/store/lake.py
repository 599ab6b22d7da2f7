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
- Temporary files live in <lake>/.spot-lab/tmp, named with the writer's host and pid:
  opening a lake removes those of writers that are gone (a SIGKILL leaves them behind);
  nothing else is ever removed.
- Nothing spot-lab did not create is deleted or overwritten: a derived partition holding
  parquet files other than its DATA_FILE (a user's export) is refused, not replaced.
- OS refusals (a read-only lake, a full disk) become one-line WriteErrors.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from spot_lab.errors import LakeError, WriteError
from spot_lab.store.files import (  # noqa: F401 - atomic_path, full_path: public here too
    TMP_DIR,
    Staged,
    atomic_path,
    full_path,
    refused,
    staged_files,
    sweep_temporary,
    write_parquet_atomic,
)
from spot_lab.store.schema import DATA_TYPES, TABLES, Table
from spot_lab.store.schema import table as get_table

DATA_FILE = "data.parquet"  # the single file of a derived (OA) partition
_GLOB_CHARS = re.compile(r"[*?\[\]{}\\]")  # DuckDB would read these in a path as a pattern
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
        self.root = full_path(root)
        if create:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise refused(exc, None, self.root) from None
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
        self.tmp_dir = self.root / TMP_DIR
        sweep_temporary(self.tmp_dir)  # leftovers of killed writers (one listdir)

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
        lock_file = self.root / ".spot-lab" / "locks" / f"{name}.lock"
        try:
            lock_file.parent.mkdir(parents=True, exist_ok=True)
            fh = open(lock_file, "a")  # noqa: SIM115 - closed below, after the unlock
        except OSError as exc:
            raise refused(exc, self.root, lock_file) from None
        with fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def locks(self, *names: str) -> Iterator[None]:
        """Several tables' writer locks, taken in the order given (callers use one order)."""
        with contextlib.ExitStack() as stack:
            for name in names:
                stack.enter_context(self.lock(name))
            yield

    def staged(self) -> contextlib.AbstractContextManager[Staged]:
        """`staged_files` in this lake's TMP_DIR: several files renamed in together."""
        return staged_files(self.tmp_dir)

    def append(
        self, name: str, data: pa.Table | pd.DataFrame, day: dt.date, hour: int | None = None
    ) -> Path:
        """Add a new file to a partition (raw ingest style): atomic, never touches other files."""
        tbl = get_table(name)
        if tbl.hourly and hour is None:
            raise LakeError(f"{name} is partitioned by hour: give the hour")
        target = self.partition_path(name, day, hour) / f"part-{uuid.uuid4().hex}.parquet"
        write_parquet_atomic(to_arrow(tbl, data), target, self.tmp_dir)
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
        with self.lock(name), self.staged() as batch:
            new = self.stage_update(batch, name, day, change)
        return new

    def stage_update(
        self,
        batch: Staged,
        name: str,
        day: dt.date,
        change: Callable[[pa.Table], pa.Table | pd.DataFrame],
    ) -> pa.Table:
        """update_partition's new content, staged in `batch` (the caller holds the lock and
        commits the batch, with other files, all or nothing)."""
        tbl = get_table(name)
        if tbl.is_raw:
            raise LakeError(f"{name} is a raw table: raw data is only appended")
        self._check_own(name, day)
        new = to_arrow(tbl, change(self.read_partition(name, day)))
        pq.write_table(new, batch.path(self.partition_path(name, day) / DATA_FILE),
                       compression="zstd")  # fmt: skip
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
        self._check_own(name, day)
        target = self.partition_path(name, day) / DATA_FILE
        with atomic_path(target, self.tmp_dir) as tmp:
            write(tmp)
        return target

    def check_replaceable(self, name: str, day: dt.date) -> None:
        """WriteError when the partition cannot be written (a read-only lake) or holds files
        spot-lab did not write: checked before a long or multi-table write starts, so it
        fails before its first table, not after."""
        with self.lock(name):
            self._check_own(name, day)

    def _check_own(self, name: str, day: dt.date) -> None:
        """Refuse to replace a derived partition that holds parquet files spot-lab did not
        write (only DATA_FILE is its own): they would be lost or their rows doubled. Also
        removes temporary files killed writers left there (the caller holds the lock)."""
        folder = self.partition_path(name, day)
        if not folder.is_dir():
            return
        sweep_temporary(folder, stale_beside=DATA_FILE)
        foreign = sorted(p.name for p in folder.glob("*.parquet") if p.name != DATA_FILE)
        if foreign:
            shown = ", ".join(foreign[:3]) + (
                f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            )
            raise WriteError(
                f"{folder} holds files spot-lab did not write ({shown}): nothing was changed; "
                f"move them out of the lake (or merge their rows into {DATA_FILE}) and retry"
            )

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
        if has_files and not self._listed:
            self._with_files.add(name)  # a glob follows new files by itself

    @property
    def _listed(self) -> bool:
        """True when the lake's path holds characters DuckDB reads as a glob pattern
        ([, ], *, ?, {, }, \\): its views then name the files, listed again before each
        query that needs them, instead of a glob over a path that would not match itself."""
        return _GLOB_CHARS.search(str(self.lake.root)) is not None

    def _view_sql(self, tbl: Table, has_files: bool) -> str:
        extended = bool(tbl.extensions) and (self.lake.root / INGEST_STATE).is_dir()
        cols = tbl.columns + (tbl.extensions if extended else ()) + tbl.partitions
        files: str | list[Path] = str(self.lake.root / tbl.glob())
        if has_files and self._listed:
            files = self.lake.files(tbl.name)
            has_files = bool(files)
        if not has_files:
            body = ", ".join(f"CAST(NULL AS {c.duckdb_type}) AS {c.name}" for c in cols)
            return f"CREATE OR REPLACE VIEW {tbl.name} AS SELECT {body} LIMIT 0"
        names = ", ".join(c.name for c in cols)
        scan = parquet_scan(tbl, files, union_by_name=extended)
        if extended:  # no file of a table ingest never wrote has the extension columns
            nulls = ", ".join(f"CAST(NULL AS {c.duckdb_type}) AS {c.name}" for c in tbl.extensions)
            scan = f"(SELECT * FROM {scan} UNION ALL BY NAME (SELECT {nulls} LIMIT 0))"
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
