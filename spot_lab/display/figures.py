"""A report's figures as PNG bytes (matplotlib, so they survive export): timeline, hourly and
daily profile with the forecast, endpoints map (the world outline when cartopy-free)."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd


def timeline_png(report) -> bytes | None:
    if report.timeline.empty:
        return None
    from matplotlib.figure import Figure

    totals = report.timeline.groupby("lane")["connections"].sum().sort_values(ascending=False)
    lanes = list(totals.index[:15])
    data = report.timeline[report.timeline["lane"].isin(lanes)]
    fig = Figure(figsize=(9, 0.35 * len(lanes) + 1.4), dpi=96)
    ax = fig.add_subplot()
    ypos = {lane: i for i, lane in enumerate(reversed(lanes))}
    size = 8 + 60 * data["connections"] / max(1, data["connections"].max())
    ax.scatter(
        data["minute"].dt.tz_localize(None),
        data["lane"].map(ypos),
        s=size,
        alpha=0.6,
        color="#cf222e",
    )
    ax.set_yticks(list(ypos.values()), [str(v)[:40] for v in ypos])
    ax.set_title(f"Timeline of {report.anchor} (minute buckets, top lanes)", fontsize=10)
    ax.tick_params(labelsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return png(fig)


def profile_png(report) -> bytes | None:
    if report.hourly.empty:
        return None
    from matplotlib.figure import Figure

    multi = len(report.daily) > 1
    fig = Figure(figsize=(9, 2.6), dpi=96)
    ax = fig.add_subplot(1, 2 if multi else 1, 1)
    ax.bar(report.hourly["hour"], report.hourly["connections"], color="#0969da")
    ax.set_title("Hourly profile (UTC)", fontsize=10)
    ax.set_xticks(range(0, 24, 3))
    ax.tick_params(labelsize=8)
    if multi:
        ax2 = fig.add_subplot(1, 2, 2)
        ax2.plot(
            report.daily["day"],
            report.daily["connections"],
            marker="o",
            color="#0969da",
            label="observed",
        )
        if len(report.forecast):
            joined = pd.concat(
                [
                    report.daily.tail(1)[["day", "connections"]],
                    report.forecast[["day", "connections"]],
                ]
            )
            ax2.plot(
                joined["day"],
                joined["connections"],
                linestyle="--",
                marker="x",
                color="#bf8700",
                label="forecast",
            )
        ax2.set_title("Daily trend and forecast", fontsize=10)
        ax2.legend(fontsize=7)
        ax2.tick_params(labelsize=7)
        for label in ax2.get_xticklabels():
            label.set_rotation(30)
    fig.tight_layout()
    return png(fig)


def map_png(report) -> bytes | None:
    frame = map_frame(report)
    if frame.empty:
        return None
    try:
        from spot_lab.display.map_figure import endpoints_figure

        figure = endpoints_figure(
            frame, title=f"Endpoints of {report.anchor}", **map_options(report)
        )
        return png(figure)
    except ImportError:
        pass
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.2), dpi=96)
    ax = fig.add_subplot()
    ax.set_xlim(-180, 180)
    ax.set_ylim(-70, 85)
    ax.grid(True, color="#d0d7de")
    size = 20 + 200 * frame["bytes"] / max(1, frame["bytes"].max())
    ax.scatter(frame["lon"], frame["lat"], s=size, alpha=0.6, color="#cf222e")
    for row in frame.head(15).itertuples():
        ax.annotate(str(row.ip), (row.lon, row.lat), fontsize=7)
    ax.set_title(f"External endpoints of {report.anchor} (lon/lat)", fontsize=10)
    fig.tight_layout()
    return png(fig)


def map_frame(report) -> pd.DataFrame:
    """Endpoints to draw (internal ones too, so lines start at our sites)."""
    frame = report.endpoints if not report.endpoints.empty else report.where
    if frame.empty or "ip" not in frame:
        return pd.DataFrame()
    frame = frame.copy()
    for col, default in (("bytes", 0), ("connections", 1), ("direction", "unknown")):
        if col not in frame:
            frame[col] = default
    return frame[["ip", "bytes", "connections", "direction"]]


def map_options(report) -> dict[str, Any]:
    # reuse the investigation's geolocator (same database and sites; None: the default)
    return {"geolocator": report._locator}


def png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
