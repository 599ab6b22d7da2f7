"""Dates and date ranges given by users (CLI, magics, server), validated in one place."""

from __future__ import annotations

import datetime as dt
import re

from spot_lab.errors import InputError

# fromisoformat alone also takes 20261129 and 2026-W48-7 (Python 3.11): the form first
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(text: str | dt.date) -> dt.date:
    """A calendar date as YYYY-MM-DD, or a one-line error saying so."""
    if isinstance(text, dt.date):
        return text
    value = str(text).strip()
    try:
        if not _ISO_DAY.fullmatch(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"bad date {value[:40]!r}: use YYYY-MM-DD, e.g. 2026-11-29") from None


def date_range(
    date: str | dt.date | None = None,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
) -> tuple[dt.date, dt.date] | None:
    """(first, last) day, inclusive, from --date or --from/--to; None when none is given."""
    if date is not None and (start is not None or end is not None):
        raise InputError("give either --date or --from/--to, not both")
    if date is not None:
        day = parse_date(date)
        return day, day
    if start is None and end is None:
        return None
    first = parse_date(start) if start is not None else None
    last = parse_date(end) if end is not None else None
    first = first or last
    last = last or first
    if first > last:
        raise InputError(f"--from {first} is after --to {last}: swap them")
    return first, last
