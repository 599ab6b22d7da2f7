"""Endpoint maps (ipyleaflet): `endpoints_map(df)` draws the aggregation of endpoints.py as
three bulk GeoJSON layers (world outline, lines, places); clicking a place opens a popup with
its IPs, counts, bytes and owners. `save_html(map, path)` (map_page.py) writes a standalone
page; `endpoints_figure(df)` (map_figure.py) draws the same with matplotlib.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from spot_lab.display.endpoints import (
    COLORS,
    OUTLINE_NOTICE,
    OUTLINE_PANE,
    TILES,
    TILES_ATTRIBUTION,
    Place,
    aggregate_endpoints,
    bounds_of,
    endpoint_layers,
    popup_html,
    view_of,
    world_outline,
)
from spot_lab.display.map_figure import endpoints_figure
from spot_lab.display.map_page import save_html

__all__ = ["endpoints_map", "endpoints_figure", "save_html", "aggregate_endpoints"]


_OUTLINE_LAYER: list = []


def outline_layer():
    """The world-outline GeoJSON layer, built once per process and shared by every map
    (serialising its ~10k coordinate lists costs more than the endpoints themselves)."""
    from ipyleaflet import GeoJSON

    if _OUTLINE_LAYER and _OUTLINE_LAYER[0].comm is not None:
        return _OUTLINE_LAYER[0]
    layer = GeoJSON(data=world_outline(), name="world outline", pane=OUTLINE_PANE)
    layer.options = [*layer.options, "pane"]  # so the pane is set when Leaflet builds it
    _OUTLINE_LAYER[:] = [layer]
    return layer


def endpoints_map(
    df: pd.DataFrame,
    ip: str = "ip",
    *,
    tiles: str | None = TILES,
    height: str = "450px",
    **options: Any,
):
    """An ipyleaflet Map of the endpoints in `df` (a column of IPs, optional bytes,
    connections and direction = inbound / outbound / two-way), aggregated by place;
    `options` are `aggregate_endpoints`'s (bytes, connections, direction, center_ip,
    geolocator, site).

    Lines start at `site`, else at `center_ip`'s place, else at the busiest internal place,
    else at the geolocator's home site (SpotLab.site_location, else the first site of
    `<lake>/context/sites.csv`); with none of these, no lines are drawn.
    `tiles=None` draws only the bundled world outline (fully offline).
    """
    from ipyleaflet import GeoJSON, LegendControl, Map, Popup, WidgetControl
    from ipywidgets import HTML, Layout

    ep = aggregate_endpoints(df, ip, **options)
    points, lines = endpoint_layers(ep, popups=False)  # popups are built on click
    bounds = bounds_of(ep)
    center, zoom = view_of(bounds)
    m = Map(
        center=center,
        zoom=zoom,
        basemap=_tile_layer(tiles, ep.attribution),
        scroll_wheel_zoom=True,
        panes={OUTLINE_PANE: {"zIndex": 150}},  # below the tile pane (200): shows when tiles fail
        layout=Layout(height=height),
    )
    if tiles is None:
        m.remove(m.layers[0])
    outline = outline_layer()
    line_layer = GeoJSON(data=lines, name="flows")
    point_layer = GeoJSON(data=points, name="endpoints", point_style={"radius": 5})
    popup = Popup(child=HTML(), close_button=True, auto_close=True, max_width=360)

    def show(feature=None, **_):
        place = ep.places.iloc[feature["properties"]["place"]]
        popup.child.value = popup_html(Place(*(place[f] for f in Place._fields)))
        popup.location = feature["geometry"]["coordinates"][::-1]
        if popup not in m.layers:
            m.add(popup)
        else:
            popup.open_popup(popup.location)

    point_layer.on_click(show)
    for layer in (outline, line_layer, point_layer):
        m.add(layer)
    present = [
        d for d in ("inbound", "outbound", "two-way", "unknown") if d in set(ep.places.direction)
    ]
    legend = {d: COLORS[d] for d in present or ["two-way"]}
    if ep.places["internal"].any():
        legend["internal"] = COLORS["internal"]
    m.add(LegendControl(legend, title="Direction", position="bottomright"))
    note = f"{ep.total_ips:,} endpoints in {len(ep.places):,} places"
    if ep.unlocated:
        note += f"; {ep.unlocated:,} without location"
    m.add(WidgetControl(widget=HTML(f"<small>{html.escape(note)}</small>"), position="topright"))
    m.spot_endpoints = ep  # the aggregation, for tests and reports
    m.spot_bounds = bounds
    _fit_when_displayed(m, bounds)
    return m


def _tile_layer(tiles: str | None, geo_attribution: str):
    from ipyleaflet import TileLayer

    credits = [TILES_ATTRIBUTION if tiles == TILES else "", OUTLINE_NOTICE]
    if geo_attribution:
        credits.append(
            '<a href="https://db-ip.com">IP Geolocation by DB-IP</a>'
            if "DB-IP" in geo_attribution
            else html.escape(geo_attribution)
        )
    return TileLayer(
        url=tiles or TILES, attribution=" | ".join(c for c in credits if c), max_zoom=18
    )


def _fit_when_displayed(m, bounds) -> None:
    """`Map.fit_bounds` waits on the browser: only ask for it inside a running kernel loop."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # plain Python: center/zoom computed above already frame the data
    m.fit_bounds(bounds)
