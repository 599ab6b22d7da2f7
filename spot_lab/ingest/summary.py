"""Spot's `<type>_ingest_summary`: records per minute of each day (reference 1.4), recomputed
from the raw partitions of every day an ingest touched; shown as a text chart
(`spot-lab ingest --summary`) or a matplotlib figure (`summary_figure`, the notebook's
Ingest Summary). Flow writes tdate unpadded (`2026-11-28 9:5`), dns and proxy padded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import duckdb
import pyarrow as pa

from spot_lab.dates import parse_date
from spot_lab.store.lake import Lake, parquet_scan
from spot_lab.store.schema import DATA_TYPES, TABLES

BAR = "█"
# the minute of day of each raw row, in SQL over the day's files
_MINUTE = {
    "flow": "CAST((unix_tstamp - $epoch) // 60 AS INTEGER)",
    "dns": "CAST((unix_tstamp - $epoch) // 60 AS INTEGER)",
    "proxy": "CAST(substr(p_time, 1, 2) AS INTEGER) * 60 + CAST(substr(p_time, 4, 2) AS INTEGER)",
}


def per_minute(lake: Lake, data_type: str, day: dt.date) -> pa.Table:
    """(minute of day, records) of one day's raw partitions."""
    files = sorted(lake.partition_path(data_type, day).glob("h=*/*.parquet"))
    if not files:
        return pa.table({"minute": pa.array([], pa.int32()), "total": pa.array([], pa.int64())})
    epoch = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp())
    sql = (f"SELECT {_MINUTE[data_type]} AS minute, CAST(count(*) AS BIGINT) AS total "
           f"FROM {parquet_scan(TABLES[data_type], files)} GROUP BY 1 HAVING minute BETWEEN 0 AND 1439 "
           "ORDER BY 1")  # fmt: skip
    con = duckdb.connect()
    try:
        return con.sql(sql, params={"epoch": epoch} if "$epoch" in sql else None).to_arrow_table()
    finally:
        con.close()


def tdate(data_type: str, day: dt.date, minute: int) -> str:
    if data_type == "flow":  # Spot's flow OA writes it unpadded
        return f"{day.year}-{day.month}-{day.day} {minute // 60}:{minute % 60}"
    return f"{day.isoformat()} {minute // 60:02d}:{minute % 60:02d}"


def write_summaries(lake: Lake, days: dict[str, Iterable[dt.date]]) -> int:
    """Rewrite `<type>_ingest_summary` for every day touched; the number of days written."""
    written = 0
    for data_type, touched in days.items():
        if data_type not in DATA_TYPES:
            continue  # ip_leases and the like have no ingest summary in Spot
        for day in sorted(touched):
            counts = per_minute(lake, data_type, day)
            minutes = counts["minute"].to_pylist()
            rows = pa.table({"tdate": [tdate(data_type, day, m) for m in minutes],
                             "total": counts["total"]})  # fmt: skip
            lake.replace_partition(f"{data_type}_ingest_summary", rows, day)
            written += 1
    return written


def read_summary(
    lake: Lake | str, data_type: str, start=None, end=None
) -> list[tuple[dt.datetime, int]]:
    """(minute, records) from `<type>_ingest_summary`, over [start, end] (days)."""
    lake = lake if isinstance(lake, Lake) else Lake(lake)
    out = []
    first, last = (parse_date(v) if v else None for v in (start, end))
    for day in lake.days(f"{data_type}_ingest_summary"):
        if (first and day < first) or (last and day > last):
            continue
        rows = lake.read_partition(f"{data_type}_ingest_summary", day).to_pylist()
        for row in rows:
            clock = row["tdate"].split(" ")[1]
            hour, minute = (int(v) for v in clock.split(":"))
            out.append((dt.datetime(day.year, day.month, day.day, hour, minute), int(row["total"])))
    return sorted(out)


def chart(lake: Lake | str, data_types: Iterable[str] = DATA_TYPES, start=None, end=None,
          width: int = 50) -> str:  # fmt: skip
    """Records per hour of every summarised day, as text bars (one line per hour)."""
    lake = lake if isinstance(lake, Lake) else Lake(lake)
    lines = []
    for data_type in data_types:
        points = read_summary(lake, data_type, start, end)
        if not points:
            continue
        hours: dict[dt.datetime, int] = {}
        for at, n in points:
            key = at.replace(minute=0)
            hours[key] = hours.get(key, 0) + n
        peak = max(hours.values())
        by_day: dict[dt.date, list] = {}
        for at, n in sorted(hours.items()):
            by_day.setdefault(at.date(), []).append((at.hour, n))
        for day, items in by_day.items():
            total = sum(n for _, n in items)
            lines.append(f"{data_type} {day}: {total:,} records ({data_type}_ingest_summary)")
            for hour, n in items:
                bar = BAR * max(1, round(width * n / peak)) if n else ""
                lines.append(f"  {hour:02d}:00 {bar} {n:,}")
    return "\n".join(lines) if lines else "no ingest summary in this lake yet"


def summary_figure(lake: Lake | str, data_type: str = "flow", start=None, end=None):
    """Spot's Ingest Summary page as a matplotlib figure: records per minute over time."""
    from matplotlib.figure import Figure  # not pyplot: no global figure, shown once

    lake = lake if isinstance(lake, Lake) else Lake(lake)
    points = read_summary(lake, data_type, start, end)
    fig = Figure(figsize=(10, 3))
    ax = fig.subplots()
    if points:
        ax.fill_between([p[0] for p in points], [p[1] for p in points], step="post", alpha=0.6)
    ax.set_title(f"{data_type}: records ingested per minute")
    ax.set_ylabel("records / minute")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
