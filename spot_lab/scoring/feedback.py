"""Analyst feedback for the model: one defined format, read and written safely.

File: <lake>/<type>/scored_results/YYYYMMDD/feedback/ml_feedback.csv, comma-separated, with
the header `spot_lab.store.schema.FEEDBACK_COLUMNS[type]` (fixes Spot's comma/tab and column-order
mismatches, reference 1.7). Rows scored 3 (Low) are added DUPFACTOR times to the training
counts of the next run of that day, never to the scored set (reference 5.6).

Writes are idempotent: an event (every column but `sev`) has one row, the latest score's,
so a write retried after a crash, or a re-score, never adds rows (each Low row weighs
DUPFACTOR events in training).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa

from spot_lab.errors import InputError
from spot_lab.store.lake import Lake
from spot_lab.store.schema import FEEDBACK_COLUMNS, SEVERITIES, check_data_type

_NUMERIC = {"sev", "sport", "dport", "ipkt", "ibyt", "unix_tstamp", "frame_len",
            "dns_qry_type", "dns_qry_rcode"}  # fmt: skip


def feedback_path(root: str | os.PathLike, data_type: str, day: dt.date) -> Path:
    return (
        Path(root) / data_type / "scored_results" / f"{day:%Y%m%d}" / "feedback" / "ml_feedback.csv"
    )


def read_feedback(path: str | os.PathLike, data_type: str, *, required: bool = False) -> pa.Table:
    """All rows of a feedback file as strings; empty when absent (unless `required`).

    Raises InputError naming the file when it is missing (required) or malformed.
    """
    check_data_type(data_type)
    path = Path(path)
    columns = FEEDBACK_COLUMNS[data_type]
    empty = pa.table({c: pa.array([], pa.string()) for c in columns})
    if not path.is_file():
        if required:
            raise InputError(f"feedback file {path} does not exist: check the path")
        return empty
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"feedback file {path} cannot be read ({exc}): fix or remove it") from None
    rows = [r for r in rows if r and any(c.strip() for c in r)]
    if not rows:
        return empty
    header = tuple(c.strip() for c in rows[0])
    if header != columns:
        raise InputError(
            f"feedback file {path} has header {','.join(header)!r}; expected "
            f"{','.join(columns)!r} (comma-separated): fix or remove it"
        )
    for line_no, row in enumerate(rows[1:], 2):
        _check_row(path, line_no, row, columns)
    data = {c: [r[i] for r in rows[1:]] for i, c in enumerate(columns)}
    return pa.table({c: pa.array(v, pa.string()) for c, v in data.items()})


def _check_row(path: Path, line_no: int, row: list[str], columns: tuple[str, ...]) -> None:
    where = f"feedback file {path} line {line_no}"
    if len(row) != len(columns):
        raise InputError(f"{where} has {len(row)} fields, expected {len(columns)}: fix it")
    for name, value in zip(columns, row, strict=True):
        if name in _NUMERIC and value.strip() not in ("", "-"):
            try:
                int(float(value))
            except ValueError:
                raise InputError(f"{where}: {name}={value!r} is not a number: fix it") from None
    if row[0].strip() not in {str(s) for s in SEVERITIES}:
        raise InputError(f"{where}: sev={row[0]!r} must be 1, 2 or 3: fix it")


def lock_name(data_type: str) -> str:
    """The lake lock serialising writers of a type's feedback files."""
    return f"{data_type}_feedback"


def new_rows(
    data_type: str, rows: pd.DataFrame | Iterable[Mapping[str, object]]
) -> list[list[str]]:
    """Feedback rows to write, as the CSV's text fields, checked (InputError otherwise)."""
    check_data_type(data_type)
    columns = FEEDBACK_COLUMNS[data_type]
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"feedback rows lack columns {missing}: give {', '.join(columns)}")
    frame = frame.loc[:, list(columns)].astype(object).where(frame.notna(), "")
    out = [["" if v is None else str(v) for v in row] for row in frame.itertuples(index=False)]
    for line_no, row in enumerate(out, 1):
        _check_row(Path("<new rows>"), line_no, row, columns)
    return out


def merged_text(path: Path, data_type: str, rows: list[list[str]]) -> str:
    """The feedback file's new content: its rows (validated: a malformed file raises
    InputError) without those of the events in `rows`, then `rows`. The caller holds
    lock_name(data_type)."""
    columns = FEEDBACK_COLUMNS[data_type]
    current = read_feedback(path, data_type)
    fresh = {tuple(r[1:]) for r in rows}  # an event's key: every column but sev
    kept = [
        row
        for row in zip(*(current[c].to_pylist() for c in columns), strict=True)
        if tuple(row[1:]) not in fresh
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(kept)
    writer.writerows(rows)
    return buffer.getvalue()


def append_feedback(
    lake: Lake | str | os.PathLike,
    data_type: str,
    day: dt.date,
    rows: pd.DataFrame | Iterable[Mapping[str, object]],
) -> Path:
    """Record analyst-scored events in the day's feedback file (atomic, locked like the
    lake, idempotent: an event already there gets the new severity, never a second row).

    Each row needs the columns of FEEDBACK_COLUMNS[data_type]; the header is written once.
    """
    lake = lake if isinstance(lake, Lake) else Lake(lake)
    fresh = new_rows(data_type, rows)
    target = feedback_path(lake.root, data_type, day)
    with lake.lock(lock_name(data_type)), lake.staged() as batch:
        batch.text(target, merged_text(target, data_type, fresh))
    return target
