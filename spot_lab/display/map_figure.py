"""The endpoints map as a static matplotlib figure, for reports that cannot run widgets."""

from __future__ import annotations

from typing import Any

import pandas as pd

from spot_lab.display.endpoints import (
    COLORS,
    OUTLINE_NOTICE,
    aggregate_endpoints,
    bounds_of,
    scale,
    world_outline,
)


def endpoints_figure(
    df: pd.DataFrame, ip: str = "ip", *, ax=None, title: str | None = None, **options: Any
):
    """The same aggregation as a matplotlib figure (world outline, lines, circles); `options`
    as for `endpoints_map`."""
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    ep = aggregate_endpoints(df, ip, **options)
    if ax is None:  # a bare Figure: no pyplot state, shown once by Jupyter, savefig for reports
        fig = Figure(figsize=(10, 5.2), dpi=100)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    rings = [
        ring
        for f in world_outline()["features"]
        for poly in f["geometry"]["coordinates"]
        for ring in poly[:1]
    ]
    ax.add_collection(PolyCollection(rings, facecolor="#f2efe9", edgecolor="#9e9e9e", lw=0.4))
    ax.set_facecolor("#cfe3ef")
    places = ep.places
    volume = places["bytes"] if places["bytes"].sum() > 0 else places["connections"]
    size = scale(volume, 12, 400)
    colors = [
        COLORS["internal"] if internal else COLORS[d]
        for internal, d in zip(places["internal"], places["direction"], strict=True)
    ]
    external = ~places["internal"].to_numpy(dtype=bool)
    if ep.origin is not None and external.any():
        segs = [
            [(ep.origin[1], ep.origin[0]), (lon, lat)]
            for lon, lat in zip(places["lon"][external], places["lat"][external], strict=True)
        ]
        widths = scale(volume[external], 0.4, 3)
        line_colors = [c for c, e in zip(colors, external, strict=True) if e]
        ax.add_collection(LineCollection(segs, colors=line_colors, linewidths=widths, alpha=0.4))
    ax.scatter(places["lon"], places["lat"], s=size, c=colors, alpha=0.6, edgecolors="white")
    (s, w), (n, e) = bounds_of(ep)
    ax.set_xlim(w, e)
    ax.set_ylim(s, n)
    ax.set_xticks([])
    ax.set_yticks([])
    handles = [
        Line2D([], [], marker="o", ls="", color=COLORS[d], label=d)
        for d in ("inbound", "outbound", "two-way", "unknown", "internal")
        if d in set(places["direction"]) or (d == "internal" and places["internal"].any())
    ]
    if handles:
        ax.legend(handles=handles, loc="lower left", fontsize=8)
    credit = OUTLINE_NOTICE + (f" | {ep.attribution}" if ep.attribution else "")
    summary = f"{ep.total_ips:,} endpoints in {len(places):,} places" + (
        f" ({ep.unlocated:,} without location)" if ep.unlocated else ""
    )
    ax.set_title(f"{title}: {summary}" if title else summary, fontsize=10)
    ax.text(1, -0.02, credit, transform=ax.transAxes, ha="right", va="top", fontsize=7)
    return fig
