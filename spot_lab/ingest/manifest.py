"""The ingest manifest: what every source file gave the lake, and the crash-safe commit.

One JSON record per source file under `<lake>/.spot-lab/ingest/files/<sid>.json` (sid: a
hash of the file's absolute path): path, size, mtime, inode, format, the decompressed bytes
consumed (`offset`: complete lines only), fingerprints of its head and of the bytes before
`offset`, a content hash per ingested segment, rows per table, rejects, the time span, and
the lake files it wrote. A rerun compares each file's size and mtime with its record: equal
means nothing to do, so a folder of 1,000 files costs 1,000 stats and 1,000 small reads.

Commit of one file (`commit`): the staged files are fsynced, a journal naming the renames,
the new record and the stale files is written, then applied (renames, record, deletions)
and removed. `recover` re-applies any journal left by a crash (renaming is idempotent) and
removes staging folders that never got a journal; so a SIGKILL leaves the lake as it was
plus whole files, and the next run finishes the work without duplicates.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from spot_lab.store.files import fsync
from spot_lab.store.lake import INGEST_STATE, Lake, atomic_path

FINGERPRINT = 64 * 1024
VERSION = 1


def source_id(path: Path) -> str:
    return hashlib.blake2b(str(path).encode(), digest_size=8).hexdigest()


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass
class Segment:
    start: int  # decompressed offsets [start, end) of the lines this ingest read
    end: int
    hash: str
    rows: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    files: list[str] = field(default_factory=list)  # lake files written (relative)


@dataclass
class Entry:
    sid: str
    path: str
    size: int
    mtime_ns: int
    inode: int
    family: str
    layout: str
    kind: str | None
    compression: str
    offset: int
    head: str  # hash of the first head_len bytes (the consumed part of the first 64 KiB)
    head_len: int = 0
    tail: str = ""
    next_line: int = 1  # line number at `offset`
    segments: list[Segment] = field(default_factory=list)
    first_ts: float | None = None
    last_ts: float | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    days: dict[str, list[str]] = field(default_factory=dict)
    same_as: str | None = None  # a copy of another ingested file: no rows of its own
    ingested_at: str = ""
    version: int = VERSION

    @property
    def rows(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for seg in self.segments:
            for table, n in seg.rows.items():
                total[table] = total.get(table, 0) + n
        return total

    @property
    def rejected(self) -> int:
        return sum(s.rejected for s in self.segments)

    @property
    def files(self) -> list[str]:
        return [f for s in self.segments for f in s.files]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Entry:
        raw = json.loads(text)
        raw["segments"] = [Segment(**s) for s in raw.get("segments", [])]
        return cls(**raw)


def state_dir(lake: Lake) -> Path:
    return lake.root / INGEST_STATE


def _files_dir(lake: Lake) -> Path:
    return state_dir(lake) / "files"


def load_all(lake: Lake) -> dict[str, Entry]:
    """Every record, by sid (unreadable records are ignored: their files get re-ingested)."""
    out = {}
    folder = _files_dir(lake)
    if not folder.is_dir():
        return out
    for item in os.scandir(folder):
        if item.name.endswith(".json"):
            with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
                entry = Entry.from_json(Path(item.path).read_text())
                if entry.version == VERSION:
                    out[entry.sid] = entry
    return out


def save(lake: Lake, entry: Entry) -> None:
    folder = _files_dir(lake)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / f"{entry.sid}.json") as tmp:
        tmp.write_text(entry.to_json())


def fingerprint_at(path: Path, end: int) -> str:
    """Hash of the FINGERPRINT bytes before `end` of a plain file."""
    start = max(0, end - FINGERPRINT)
    with open(path, "rb") as fh:
        fh.seek(start)
        return digest(fh.read(end - start))


def head_of(head: bytes, entry: Entry) -> str:
    """The fingerprint a file's first bytes must have to start like `entry`'s file."""
    return digest(head[: entry.head_len])


def classify(entry: Entry, path: Path, st: os.stat_result, head: bytes) -> str:
    """unchanged | grown | changed | touched (same bytes, new mtime) for a known file."""
    if st.st_size == entry.size and st.st_mtime_ns == entry.mtime_ns:
        return "unchanged"
    same_start = (entry.compression == "none" and st.st_size >= entry.offset
                  and head_of(head, entry) == entry.head)  # fmt: skip
    if same_start and (entry.offset == 0 or fingerprint_at(path, entry.offset) == entry.tail):
        return "grown" if st.st_size > entry.offset else "touched"
    return "changed"


# ---- the commit protocol -------------------------------------------------------------------
def _journal_dir(lake: Lake) -> Path:
    return state_dir(lake) / "journal"


def commit(lake: Lake, entry: Entry, moves: list[tuple[Path, str]], stale: list[str]) -> None:
    """Make one source's staged files and record visible together (see the module doc)."""
    for staged, _ in moves:
        fsync(staged)
    finals = {final for _, final in moves}
    journal = {
        "entry": json.loads(entry.to_json()),
        "moves": [[str(s), f] for s, f in moves],
        "stale": [s for s in stale if s not in finals],
    }
    folder = _journal_dir(lake)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{entry.sid}.json"
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(journal) + "\n")
    _apply(lake, target)


def _apply(lake: Lake, journal_path: Path) -> None:
    journal = json.loads(journal_path.read_text())
    entry = Entry.from_json(json.dumps(journal["entry"]))
    dirs = set()
    for staged, final in journal["moves"]:
        target = lake.root / final
        if Path(staged).exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
            dirs.add(target.parent)
    for folder in dirs:
        fsync(folder)
    save(lake, entry)
    for rel in journal["stale"]:
        if _ours(rel, entry.sid):
            (lake.root / rel).unlink(missing_ok=True)
    journal_path.unlink(missing_ok=True)
    shutil.rmtree(state_dir(lake) / "staging" / entry.sid, ignore_errors=True)


def _ours(rel: str, sid: str) -> bool:
    """Only files ingest itself named for this source are ever deleted."""
    name = rel.rsplit("/", 1)[-1]
    return name.startswith(f"part-{sid}-") or (rel.startswith("rejects/") and sid[:8] in name)


def recover(lake: Lake) -> int:
    """Finish commits a crash interrupted; drop staging that never reached a journal."""
    done = 0
    folder = _journal_dir(lake)
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            try:
                _apply(lake, path)
                done += 1
            except (OSError, ValueError, KeyError):
                path.unlink(missing_ok=True)  # a torn journal: its staging is dropped below
    staging = state_dir(lake) / "staging"
    if staging.is_dir():
        for leftover in staging.iterdir():
            shutil.rmtree(leftover, ignore_errors=True)
    return done


# ---- days whose ingest summary must be recomputed ---------------------------------------------
def _pending_path(lake: Lake) -> Path:
    return state_dir(lake) / "summary-pending.json"


def pending_days(lake: Lake) -> dict[str, set[dt.date]]:
    try:
        raw = json.loads(_pending_path(lake).read_text())
    except (OSError, ValueError):
        return {}
    return {t: {dt.date.fromisoformat(d) for d in days} for t, days in raw.items()}


def add_pending(lake: Lake, days: dict[str, set[dt.date]]) -> None:
    current = pending_days(lake)
    for table, more in days.items():
        current.setdefault(table, set()).update(more)
    with atomic_path(_pending_path(lake)) as tmp:
        tmp.write_text(json.dumps({t: sorted(map(str, d)) for t, d in current.items()}) + "\n")


def clear_pending(lake: Lake) -> None:
    _pending_path(lake).unlink(missing_ok=True)


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
