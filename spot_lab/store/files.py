"""Files that appear whole or not at all: the lake's write primitives.

A writer gets temporary paths (`staged_files`, `atomic_path`), writes them with anything
(pyarrow, DuckDB's COPY, plain text); when its block ends they are fsynced and renamed over
their targets in order, so readers see the old content or the new, never a torn file, and
several files change together or not at all (short of a crash between two renames, which
the error names). Temporary files live in <lake>/.spot-lab/tmp, named
`<host>-<pid>-<hex>.partial`: `sweep_temporary` removes those whose writer is gone (opening
a lake does). OS refusals (a read-only folder, a full disk) become one-line WriteErrors.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from spot_lab import limits
from spot_lab.errors import LakeError, WriteError

_TMP_SUFFIX = ".partial"  # never matches the *.parquet globs
TMP_DIR = Path(".spot-lab") / "tmp"  # a lake's temporary files
_HOST = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())[:64] or "host"
# <host>-<pid>-<hex>.partial in TMP_DIR; .<target>.<hex>.partial beside the target (before)
_TMP_NAME = re.compile(r"^(?P<host>[A-Za-z0-9._]+)-(?P<pid>\d+)-[0-9a-f]{32}\.partial$")
_OLD_TMP = re.compile(r"^\..+\.[0-9a-f]{32}\.partial$")


def full_path(path: str | os.PathLike) -> Path:
    """`path` with ~ expanded, made absolute; InputError for NUL, control characters or a
    length past PATH_MAX, LakeError for a ~user that does not exist."""
    limits.text(os.fspath(path), "connect_target", "the path")
    try:
        return Path(path).expanduser().resolve()
    except RuntimeError:  # "Could not determine home directory"
        raise LakeError(
            f"cannot expand {os.fspath(path)[:80]!r}: write the folder in full"
        ) from None


def refused(exc: OSError, root: Path | None, path: Path | str) -> WriteError:
    """An OS refusal as one line saying what to do."""
    where = f"the lake {root}" if root is not None else str(Path(path).parent)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return WriteError(
            f"{where} is read-only for this user (cannot write {path}): nothing was changed; "
            "work on a writable copy, or ask for write access"
        )
    reason = exc.strerror or exc.__class__.__name__
    return WriteError(f"cannot write {path} ({reason}): nothing was changed; {_fix(exc)}")


def _fix(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some disk space and retry"
    return "check the folder and retry"


@contextlib.contextmanager
def scratch_file(tmp_dir: Path) -> Iterator[Path]:
    """A path for a temporary file in `tmp_dir` under spot-lab's temporary name (so a killed
    process's leftover is swept), removed afterwards."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    path = tmp_dir / _temp_name()
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _temp_name() -> str:
    """spot-lab's temporary file name: host and pid (a dead writer's leftover is swept)."""
    return f"{_HOST}-{os.getpid()}-{uuid.uuid4().hex}{_TMP_SUFFIX}"


def _temp_path(target: Path, tmp_dir: Path | None) -> Path:
    """A new temporary name: in the lake's TMP_DIR when it is on the target's filesystem
    (a rename cannot cross filesystems), else beside the target."""
    name = _temp_name()
    if tmp_dir is not None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        if os.stat(tmp_dir).st_dev == os.stat(target.parent).st_dev:
            return tmp_dir / name
    return target.parent / f".{name}"


@contextlib.contextmanager
def atomic_path(target: Path, tmp_dir: Path | None = None) -> Iterator[Path]:
    """A temporary path for any writer (pyarrow, DuckDB's COPY, plain text); when the block
    succeeds it is fsynced and renamed over `target`, so no reader ever sees a partial
    file. On failure `target` is untouched and the temporary file removed. `tmp_dir`: the
    lake's TMP_DIR (Lake's writers pass it, so leftovers of killed writers are found)."""
    with staged_files(tmp_dir) as batch:
        yield batch.path(target)


class Staged:
    """Files written to temporary paths, renamed over their targets together at the end:
    a failure before the renames changes nothing (see `staged_files`)."""

    def __init__(self, tmp_dir: Path | None) -> None:
        self.tmp_dir = tmp_dir
        self.files: list[tuple[Path, Path]] = []  # (temporary, target)

    def path(self, target: Path) -> Path:
        """A temporary path that becomes `target` when the batch commits."""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = _temp_path(target, self.tmp_dir)
        except OSError as exc:
            raise refused(exc, None, target) from None
        self.files.append((tmp, target))
        return tmp

    def text(self, target: Path, content: str) -> None:
        with open(self.path(target), "w", encoding="utf-8", newline="") as fh:
            fh.write(content)

    def commit(self) -> None:
        try:
            for tmp, _target in self.files:
                fsync(tmp)
        except OSError as exc:
            raise refused(exc, None, self.files[0][1]) from None
        for done, (tmp, target) in enumerate(self.files):
            try:
                os.replace(tmp, target)
            except OSError as exc:
                if not done:
                    raise refused(exc, None, target) from None
                written = ", ".join(str(t) for _, t in self.files[:done])
                raise WriteError(
                    f"wrote {written} but not {target} ({exc.strerror}): retry the same "
                    "write (it replaces, never duplicates)"
                ) from None
        for folder in {target.parent for _, target in self.files}:
            fsync(folder)

    def discard(self) -> None:
        for tmp, _target in self.files:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def staged_files(tmp_dir: Path | None = None) -> Iterator[Staged]:
    """Stage files (`batch.path(target)`, `batch.text(target, s)`); when the block ends
    without error, all are fsynced and renamed in, in order; otherwise none is."""
    batch = Staged(tmp_dir)
    try:
        yield batch
        batch.commit()
    except OSError as exc:  # a writer's own failure, e.g. pyarrow on a full disk
        raise refused(exc, None, batch.files[-1][1] if batch.files else "?") from None
    finally:
        batch.discard()


def fsync(path: Path) -> None:
    """Flush a file or a folder (its entries) to disk."""
    fd = os.open(path, os.O_RDONLY)  # fsync through any descriptor flushes the file
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sweep_temporary(folder: Path, stale_beside: str | None = None) -> int:
    """Remove temporary files of writers that are gone; return how many.

    In a TMP_DIR: spot-lab's `<host>-<pid>-<hex>.partial` files of this host whose process
    no longer runs. `stale_beside`: also remove `.<stale_beside>.<hex>.partial` files in
    `folder` (older versions wrote them beside the target; the caller holds its lock).
    Only spot-lab's own temporary names are ever touched; errors are ignored (a reader on
    a read-only lake still opens it).
    """
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        match = _TMP_NAME.match(entry.name.lstrip("."))
        own = match is not None and match["host"] == _HOST and not _alive(int(match["pid"]))
        old = (
            stale_beside is not None
            and _OLD_TMP.match(entry.name) is not None
            and entry.name.startswith(f".{stale_beside}.")
        )
        if (own or old) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def write_parquet_atomic(data: pa.Table, target: Path, tmp_dir: Path | None = None) -> None:
    """Write `data` to `target` so that no reader ever sees a partial file."""
    with atomic_path(target, tmp_dir) as tmp:
        pq.write_table(data, tmp, compression="zstd")
