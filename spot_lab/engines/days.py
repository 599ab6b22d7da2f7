"""Which days an engine holds, and the bound values of Spot's day-partition predicates.

Shared by the investigation, the scorer, the server and the magics, so every face answers
"no data on that day" the same way: with the days that do have data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from spot_lab import queries
from spot_lab.dates import date_range as make_range
from spot_lab.dates import parse_date
from spot_lab.errors import InputError
from spot_lab.store.schema import table as check_table


def available_days(engine, table: str) -> list[dt.date]:
    """Days holding rows of a Spot table (a data type names its raw table): the lake's
    folders, or the engine's partitions."""
    lake = getattr(engine, "lake", None)
    if lake is not None:
        return lake.days(table)
    check_table(table)  # a name from spot_lab.store.schema, spliced as an identifier
    rows = engine.df(queries.render("investigation", "days_with_data", table=table))
    return sorted({dt.date(int(r.y), int(r.m), int(r.d)) for r in rows.itertuples()})


def explain_empty(engine, tables: Sequence[str], first: dt.date, last: dt.date) -> None:
    """Raise, naming the days that have data, when a table a query read has none in the
    range: an empty answer then means "wrong day", not "nothing matched"."""
    for table in dict.fromkeys(tables):
        days = available_days(engine, table)
        if not any(first <= d <= last for d in days):
            where = f"{table} data exists on {list_days(days)}" if days else f"{table} is empty"
            raise InputError(f"no {table} data {span_text(first, last)}: {where}")


def resolve_range(
    date_range: Any, available: Sequence[dt.date], data_type: str
) -> tuple[dt.date, dt.date, list[dt.date]]:
    """(first, last, days with data inside); the latest day when no range is given."""
    if not available:
        raise InputError(
            f"no {data_type} data on this engine: load some (spot-lab generate --lake DIR "
            "--date YYYY-MM-DD) or connect to the cluster that holds it"
        )
    if date_range is None:
        first = last = available[-1]
    elif isinstance(date_range, (str, dt.date)):
        first = last = parse_date(date_range)
    else:
        try:
            start, end = date_range
        except (TypeError, ValueError):
            raise InputError("date_range is a (first, last) pair of YYYY-MM-DD dates") from None
        first, last = make_range(start=start, end=end)
    inside = [d for d in available if first <= d <= last]
    if not inside:
        raise InputError(
            f"no {data_type} data {span_text(first, last)}: {data_type} data exists on "
            f"{list_days(available)}"
        )
    return first, last, inside


def span_text(first: dt.date, last: dt.date) -> str:
    return f"on {first}" if first == last else f"from {first} to {last}"


def list_days(days: Sequence[dt.date]) -> str:
    text = [str(d) for d in days]
    if len(text) > 12:
        text = [*text[:5], f"... ({len(days) - 10} more) ...", *text[-5:]]
    return ", ".join(text)


def range_params(first: dt.date, last: dt.date) -> dict[str, Any]:
    """Values of the `days_*` predicates (queries/investigation.yaml): numeric day keys for
    SMALLINT/TINYINT partitions, zero-padded strings for proxy's string partitions."""
    key = lambda d: d.year * 10000 + d.month * 100 + d.day  # noqa: E731
    return {
        "k1": key(first),
        "k2": key(last),
        "y1": first.year,
        "y2": last.year,
        "s1": first.strftime("%Y%m%d"),
        "s2": last.strftime("%Y%m%d"),
        "sy1": f"{first.year:04d}",
        "sy2": f"{last.year:04d}",
    }
