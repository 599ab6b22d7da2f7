"""What an ingest did, one line per file:
`conn.log: 10,212 rows, 3 rejected (see rejects/conn.log.1a2b3c4d.jsonl)`."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from spot_lab.ingest.sources import display


@dataclass
class FileReport:
    path: Path
    status: str  # new | changed | grown | moved | copy | unchanged | refused | skipped
    rows: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    rejects: str | None = None  # the rejects file, relative to the lake
    skipped: Counter = field(default_factory=Counter)
    message: str = ""
    held: int = 0  # bytes of an incomplete last line left for the next run

    @classmethod
    def refused(cls, path: Path, message: str, skipped: bool = False) -> FileReport:
        prefix = f"{path.name}: "
        text = message[len(prefix) :] if message.startswith(prefix) else message
        return cls(path, "skipped" if skipped else "refused", message=text)

    @classmethod
    def from_outcome(cls, task, out, rejects, entry) -> FileReport:
        held = max(0, task.st.st_size - out.offset) if task.found.compression == "none" else 0
        if task.found.layout in ("pcap", "nfcapd"):
            held = 0
        note = {"changed": "changed: its earlier rows replaced", "grown": "grown: new lines only",
                "moved": f"continues {display(Path(entry.path))}"}.get(task.action, "")  # fmt: skip
        if task.action in ("moved", "extends") and task.entry is not None:
            note = f"same data as {display(Path(task.entry.path))} before: new lines only"
        return cls(task.path, task.action, dict(out.rows), rejects.count,
                   rejects.final if rejects.count else None, Counter(out.skipped), note, held)  # fmt: skip

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    @property
    def failed(self) -> bool:
        return self.status == "refused" or self.rejected > 0

    def line(self) -> str:
        name = display(self.path)
        if self.status == "refused":
            return f"{name}: refused: {self.message}"
        if self.status == "skipped":
            return f"{name}: skipped ({self.message})"
        if self.status == "unchanged":
            return f"{name}: unchanged, already ingested"
        if self.status == "copy":
            return f"{name}: {self.message}"
        parts = [_rows(self.rows)]
        if self.rejected:
            parts.append(f"{self.rejected:,} rejected (see {self.rejects})")
        for why, n in sorted(self.skipped.items()):
            parts.append(f"{n:,} skipped ({why})")
        if self.held:
            parts.append("an incomplete last line waits for its newline")
        text = f"{name}: " + ", ".join(parts)
        return f"{text} [{self.message}]" if self.message else text


def _rows(rows: dict[str, int]) -> str:
    total = sum(rows.values())
    if len(rows) <= 1:
        table = next(iter(rows), "")
        noun = "row" if total == 1 else "rows"
        return f"{total:,} {noun}" + (
            f" ({table})" if table and table not in ("flow", "dns", "proxy") else ""
        )
    return ", ".join(f"{n:,} {t} {'row' if n == 1 else 'rows'}" for t, n in sorted(rows.items()))


@dataclass
class IngestReport:
    lake: Path
    files: list[FileReport]
    seconds: float
    days: dict[str, set[dt.date]] = field(default_factory=dict)

    @property
    def rows(self) -> dict[str, int]:
        total: Counter = Counter()
        for f in self.files:
            total.update(f.rows)
        return dict(total)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def exit_status(self) -> int:
        """2 when a line was rejected or a file refused, else 0."""
        return 2 if any(f.failed for f in self.files) else 0

    def lines(self) -> list[str]:
        return [f.line() for f in self.files]

    def __str__(self) -> str:
        total = sum(self.rows.values())
        tail = (f"{len(self.files)} files, {total:,} new rows into {self.lake} in "
                f"{self.seconds:.1f} s")  # fmt: skip
        return "\n".join([*self.lines(), tail])
