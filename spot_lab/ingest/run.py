"""`spot-lab ingest` on the embedded lake: which files need work (the manifest decides),
each read through its mapping into staged files and committed on its own, then the
ingest summaries of the days touched. One ingest at a time per lake (a lock)."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from spot_lab.errors import LakeError, SpotLabError
from spot_lab.ingest import detect, manifest, tools
from spot_lab.ingest import sources as S
from spot_lab.ingest.manifest import Entry, Segment
from spot_lab.ingest.pipeline import Limited, Outcome, Processor, connect
from spot_lab.ingest.progress import Progress
from spot_lab.ingest.report import FileReport, IngestReport
from spot_lab.ingest.writer import PartitionWriter, RejectWriter
from spot_lab.store.lake import Lake
from spot_lab.store.schema import DATA_TYPES

FORMATS = ("auto", "zeek", "suricata", "nfdump", "nfcapd", "pcap", "squid", "bluecoat", "tshark")


def open_lake(path: str | os.PathLike) -> Lake:
    """A Spot lake to ingest into: an existing one, or a new one in a missing or empty
    folder. Any other folder is refused: ingest never writes into a user's own files."""
    root = Path(path).expanduser().absolute()
    if root.exists() and not root.is_dir():
        raise LakeError(f"{root} is a file, not a folder: give --lake a folder")
    if root.is_dir() and any(root.iterdir()):
        if not any((root / t / "hive").is_dir() for t in DATA_TYPES):
            raise LakeError(f"{root} is neither empty nor a Spot lake (no flow/hive, dns/hive or "
                            "proxy/hive): give --lake a new or empty folder, or a lake")  # fmt: skip
        return Lake(root)
    for data_type in DATA_TYPES:
        (root / data_type / "hive").mkdir(parents=True, exist_ok=True)
    return Lake(root)


@contextlib.contextmanager
def ingest_lock(lake: Lake):
    folder = lake.root / ".spot-lab" / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "ingest.lock", "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LakeError(f"another spot-lab ingest is writing to {lake.root}: wait for it "
                            "to finish (or stop its --follow)") from None  # fmt: skip
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass
class Task:
    path: Path
    st: os.stat_result
    action: str  # new | changed | grown | moved | copy | touched | unchanged
    entry: Entry | None = None  # the record it continues or replaces
    found: detect.Detected | None = None
    report: FileReport | None = None  # decided without reading (refused, unchanged...)


@dataclass
class Ingest:
    lake: Lake
    format: str = "auto"
    progress: bool = True
    max_skew_days: float = 7.0
    entries: dict[str, Entry] = field(default_factory=dict)
    claimed: set[str] = field(default_factory=set)
    pending: dict = field(default_factory=dict)  # days whose summary this run must rewrite

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise SpotLabError(f"unknown --format {self.format!r}: use one of {', '.join(FORMATS)}")

    # ---- planning ---------------------------------------------------------------------------
    def plan(self, files: list[Path]) -> list[Task]:
        self.entries = manifest.load_all(self.lake)
        by_path = {e.path: e for e in self.entries.values()}
        tasks = [self._look(path, by_path.get(str(path))) for path in files]
        claimed = self.claimed = set()
        for task in tasks:  # rotated or copied files first: they may claim a changed file's record
            if task.action == "new" and task.found is not None:
                self._match(task, claimed)
        for task in tasks:
            if task.entry is not None and task.entry.sid in claimed and task.action == "changed":
                task.action, task.entry = "new", None  # its old content moved to another path
        return tasks

    def _look(self, path: Path, entry: Entry | None) -> Task:
        try:
            st = path.stat()
        except OSError as exc:
            return Task(
                path,
                None,
                "refused",
                report=FileReport.refused(path, f"cannot read it: {exc.strerror}"),
            )  # type: ignore[arg-type]
        if entry and st.st_size == entry.size and st.st_mtime_ns == entry.mtime_ns:
            return Task(path, st, "unchanged", entry, report=FileReport(path, "unchanged"))
        try:
            found = detect.sniff(path)
        except detect.UnknownFormat as exc:
            return Task(path, st, "refused", report=FileReport.refused(path, str(exc), exc.skipped))
        except OSError as exc:
            return Task(
                path,
                st,
                "refused",
                report=FileReport.refused(path, f"cannot read it: {exc.strerror}"),
            )
        if self.format != "auto" and self.format not in (found.family.split("_")[0], found.layout):
            msg = f"{path.name}: not a {self.format} log (it looks like {found.label})"
            return Task(path, st, "refused", report=FileReport.refused(path, msg))
        if entry is None:
            return Task(path, st, "new", None, found)
        action = manifest.classify(entry, path, st, found.head)
        return Task(path, st, action, entry, found)

    def _match(self, task: Task, claimed: set[str]) -> None:
        """A new path whose content starts like a recorded file: the same data moved (a
        rotated log, continued where its record ends) or copied (nothing new)."""
        for entry in self.entries.values():
            if entry.sid in claimed or entry.same_as or not entry.segments:
                continue
            if manifest.head_of(task.found.head, entry) != entry.head:
                continue
            same, longer = _same_prefix(task.path, task.found.compression, entry)
            if not same:
                continue
            original = Path(entry.path)
            if original.exists() and original.stat().st_mtime_ns == entry.mtime_ns:
                # a copy: nothing new, or only lines after the other file's end
                task.action, task.entry = ("extends" if longer else "copy"), entry
            else:
                task.action, task.entry = "moved", entry
                claimed.add(entry.sid)
            return

    # ---- doing --------------------------------------------------------------------------------
    def run(self, files: list[Path], missing: list[str]) -> IngestReport:
        began = time.perf_counter()
        reports = [FileReport.refused(Path(m), f"{m}: no such file or folder") for m in missing]
        with ingest_lock(self.lake):
            manifest.recover(self.lake)
            tasks = self.plan(files)
            work = [t for t in tasks if t.report is None]
            total = sum(max(0, t.st.st_size - (t.entry.offset if t.action in ("grown", "moved", "extends") and t.entry else 0))
                        for t in work if t.action not in ("copy", "touched"))  # fmt: skip
            bar = Progress(total, self.progress)
            con = connect()
            try:
                for task in tasks:
                    if task.action == "new" and task.report is None:
                        self._match(task, set())  # a copy of a file ingested just now
                    reports.append(task.report or self._do(task, con, bar))
            finally:
                con.close()
                bar.close()
            days = manifest.pending_days(self.lake)
            if days:
                from spot_lab.ingest.summary import write_summaries

                write_summaries(self.lake, days)
                manifest.clear_pending(self.lake)
        return IngestReport(self.lake.root, reports, time.perf_counter() - began, days)

    def _do(self, task: Task, con, bar: Progress) -> FileReport:
        if task.action == "copy":
            alias = self._record(task, manifest.source_id(task.path), [], 0)
            alias.same_as = task.entry.sid
            manifest.save(self.lake, alias)
            self.entries[alias.sid] = alias
            return FileReport(
                task.path,
                "copy",
                message=f"same content as {S.display(Path(task.entry.path))}, already ingested",
            )
        if task.action == "touched":
            entry = task.entry
            entry.size, entry.mtime_ns, entry.inode = (
                task.st.st_size,
                task.st.st_mtime_ns,
                task.st.st_ino,
            )
            manifest.save(self.lake, entry)
            return FileReport(task.path, "unchanged")
        return self._ingest(task, con, bar)

    def _ingest(self, task: Task, con, bar: Progress) -> FileReport:
        cont = task.action in ("grown", "moved", "extends")
        old = task.entry
        keeps = task.action in ("grown", "moved", "changed")  # the same source, its own id
        sid = old.sid if keeps else self._new_sid(task.path, None)
        if task.action == "extends":  # the shared start is the other file's: no rows of its own
            shared = [Segment(g.start, g.end, g.hash) for g in old.segments]
            old = dataclasses.replace(old, segments=shared, days={}, skipped={}, first_ts=None,
                                      last_ts=None)  # fmt: skip
        start = old.offset if cont else 0
        writer = PartitionWriter(self.lake, sid, start)
        rejects = RejectWriter(self.lake, sid, start, task.path)
        out = Outcome(offset=start, next_line=old.next_line if cont else 1)
        try:
            self._read(task, con, writer, rejects, out, bar)
            moves = writer.finish() + rejects.finish()
        except BaseException:
            writer.abort()
            raise
        entry = self._record(
            task, sid, old.segments if cont else [], out.offset, old if cont else None
        )
        entry.segments.append(Segment(start, out.offset, out.hash, dict(out.rows), rejects.count,
                                      [final for _, final in moves]))  # fmt: skip
        entry.next_line = out.next_line
        _span(entry, out)
        entry.skipped = dict(Counter(entry.skipped) + out.skipped) if cont else dict(out.skipped)
        days = writer.days()
        entry.days = _merge_days(entry.days if cont else {}, days)
        if task.action == "extends":
            entry.same_as = task.entry.sid
        stale = old.files if (old is not None and not cont) else []
        manifest.commit(self.lake, entry, moves, stale)
        self.entries[entry.sid] = entry
        new_days = {t: d - self.pending.get(t, set()) for t, d in days.items()}
        if any(new_days.values()):  # rewritten only when a day is new to this run
            manifest.add_pending(self.lake, new_days)
            for table, more in new_days.items():
                self.pending.setdefault(table, set()).update(more)
        return FileReport.from_outcome(task, out, rejects, entry)

    def _read(self, task: Task, con, writer, rejects, out: Outcome, bar: Progress) -> None:
        found = task.found
        if found.layout in ("pcap", "nfcapd"):
            self._tools(task, con, writer, rejects, out)
            bar.advance(task.st.st_size, sum(out.rows.values()))
            return
        proc = Processor(con, found, writer, rejects, self.max_skew_days)
        with open(task.path, "rb") as raw:
            stream = _open_at(raw, found.compression, out.offset, task.st.st_size)
            position = [raw.tell()]

            def advance(chunk) -> None:
                now = raw.tell()
                bar.advance(now - position[0], chunk.table.num_rows)
                position[0] = now

            proc.run(stream, out, out.next_line, out.offset, found.compression != "none", advance)

    def _tools(self, task: Task, con, writer, rejects, out: Outcome) -> None:
        found = task.found
        with tools.plain_capture(task.path, found.compression, self.lake.tmp_dir) as path:
            if found.layout == "nfcapd":
                self._tool_stream(tools.nfdump_csv(path, task.path), con, writer, rejects, out)
            else:
                self._tool_stream(tools.tshark_dns(path, task.path), con, writer, rejects, out)
            if found.layout == "pcap" and tools.have("softflowd"):
                with tools.softflowd_nfcapd(path) as (files, _exported):
                    for nf in files:
                        self._tool_stream(tools.nfdump_csv(nf, task.path), con, writer,
                                          rejects, out, "softflowd")  # fmt: skip
        out.offset = task.st.st_size
        out.hash = _file_hash(task.path)

    def _tool_stream(
        self, tool, con, writer, rejects, out: Outcome, sensor: str | None = None
    ) -> None:
        first = 1
        if tool.found.header is None:  # nfdump: its CSV header is the first line
            names = tool.stream.readline().decode().strip().split(",")
            tool.found.header = detect.Header(names, separator=",")
            first = 2
        sub = Outcome()
        Processor(con, tool.found, writer, rejects, self.max_skew_days, sensor).run(
            tool.stream, sub, first_line=first, complete=True)  # fmt: skip
        error = tool.finish()
        if error:
            rejects.add(0, error, "")
        out.rows.update(sub.rows)
        out.skipped.update(sub.skipped)
        _span_out(out, sub)

    def _new_sid(self, path: Path, old: Entry | None) -> str:
        if old is not None:
            return old.sid  # a changed file keeps its id: its files are replaced by name
        sid, n = manifest.source_id(path), 0
        while sid in self.entries:  # the id of a path whose record moved elsewhere
            n += 1
            sid = manifest.source_id(Path(f"{path}\0{n}"))
        return sid

    def _record(
        self, task: Task, sid: str, segments, offset: int, base: Entry | None = None
    ) -> Entry:
        found = task.found
        entry = Entry(sid=sid, path=str(task.path), size=task.st.st_size,
                      mtime_ns=task.st.st_mtime_ns, inode=task.st.st_ino, family=found.family,
                      layout=found.layout, kind=found.kind, compression=found.compression,
                      offset=offset, head=manifest.digest(found.head[: min(offset, manifest.FINGERPRINT)]),
                      head_len=min(offset, manifest.FINGERPRINT), segments=list(segments),
                      ingested_at=manifest.now())  # fmt: skip
        if base is not None:
            entry.first_ts, entry.last_ts = base.first_ts, base.last_ts
            entry.skipped, entry.days = dict(base.skipped), dict(base.days)
        if found.compression == "none" and offset and found.layout not in ("pcap", "nfcapd"):
            entry.tail = manifest.fingerprint_at(task.path, offset)
        return entry


def _open_at(raw, compression: str, offset: int, size: int):
    if compression == "none":
        raw.seek(offset)
        return Limited(raw, size - offset)
    stream = detect.open_stream(raw, compression)
    left = offset
    while left > 0:  # a rotated, compressed copy continues where its record ends
        data = stream.read(min(left, 1 << 20))
        if not data:
            break
        left -= len(data)
    return stream


def _same_prefix(path: Path, compression: str, entry: Entry) -> tuple[bool, bool]:
    """(the file's first `entry.offset` decompressed bytes hash as the record's segments,
    the file has more bytes after them)."""
    try:
        with open(path, "rb") as raw:
            stream = detect.open_stream(raw, compression)
            for seg in entry.segments:
                h, left = hashlib.blake2b(digest_size=16), seg.end - seg.start
                while left > 0:
                    data = stream.read(min(left, 1 << 20))
                    if not data:
                        return False, False
                    h.update(data)
                    left -= len(data)
                if h.hexdigest() != seg.hash:
                    return False, False
            return True, bool(stream.read(1))
    except (OSError, EOFError, ValueError):
        return False, False


def _file_hash(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def _span(entry: Entry, out: Outcome) -> None:
    for value in (out.first_ts, out.last_ts):
        if value is None:
            continue
        entry.first_ts = value if entry.first_ts is None else min(entry.first_ts, value)
        entry.last_ts = value if entry.last_ts is None else max(entry.last_ts, value)


def _span_out(out: Outcome, sub: Outcome) -> None:
    for value in (sub.first_ts, sub.last_ts):
        if value is not None:
            out.first_ts = value if out.first_ts is None else min(out.first_ts, value)
            out.last_ts = value if out.last_ts is None else max(out.last_ts, value)


def _merge_days(old: dict[str, list[str]], new) -> dict[str, list[str]]:
    merged = {t: set(d) for t, d in old.items()}
    for table, days in new.items():
        merged.setdefault(table, set()).update(str(d) for d in days)
    return {t: sorted(d) for t, d in merged.items()}
