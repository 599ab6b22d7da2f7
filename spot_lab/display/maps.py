"""Endpoint maps: where the other ends of connections are, aggregated before drawing.

`endpoints_map(df)` geolocates each distinct IP once, groups endpoints by place (rounded
latitude/longitude), and draws three bulk GeoJSON layers whatever the number of IPs: a
world outline (Natural Earth 1:110m, bundled, so the map reads offline where tiles cannot
load), weighted lines from the internal side to each external place, and one circle per
place (radius by bytes or connections, colour by direction). Clicking a place opens a
popup with its IPs, counts, bytes and owners. `save_html(map, path)` writes a standalone
page (Leaflet and the data inline, no network needed); `endpoints_figure(df)` draws the
same aggregation with matplotlib for reports that cannot run widgets.
"""

from __future__ import annotations

import html
import json
import math
import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from spot_lab.errors import InputError

COLORS = {
    "inbound": "#2c7bb6",
    "outbound": "#d7191c",
    "two-way": "#7b3294",
    "unknown": "#636363",
    "internal": "#1a9641",
}
_DIRECTIONS = {
    "in": "inbound",
    "inbound": "inbound",
    "out": "outbound",
    "outbound": "outbound",
    "two-way": "two-way",
    "two way": "two-way",
    "twoway": "two-way",
    "both": "two-way",
    "bidirectional": "two-way",
}
_BITS = {"inbound": 1, "outbound": 2, "two-way": 3, "unknown": 0}
_NAMES = {1: "inbound", 2: "outbound", 3: "two-way", 0: "unknown"}
OUTLINE_PANE = "spot-outline"
OUTLINE_NOTICE = "World outline: Natural Earth (public domain)"
TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TILES_ATTRIBUTION = "&copy; OpenStreetMap contributors"
POPUP_IPS = 15  # IPs listed per popup, then "+N more"


OUTLINE_STYLE = {"color": "#9e9e9e", "weight": 0.6, "fillColor": "#f2efe9", "fillOpacity": 1}


@cache
def world_outline() -> dict:
    """The bundled Natural Earth 1:110m countries as GeoJSON (about 170 KB), each feature
    carrying its style (ipyleaflet deep-copies the data when a layer-wide style is set)."""
    text = resources.files("spot_lab.data").joinpath("world_110m.geojson").read_text()
    data = json.loads(text)
    for feature in data["features"]:
        feature["properties"]["style"] = OUTLINE_STYLE
    return data


@dataclass
class Endpoints:
    """The aggregation behind a map: one row per place and the line origin."""

    places: pd.DataFrame  # lat, lon, direction, ips, n_ips, bytes, connections, ...
    origin: tuple[float, float] | None
    total_ips: int
    unlocated: int
    attribution: str


def _direction_bits(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip().str.lower()
    named = text.map(_DIRECTIONS).fillna("unknown")
    return named.map(_BITS).astype("int64")


def aggregate_endpoints(
    df: pd.DataFrame,
    ip: str = "ip",
    bytes: str = "bytes",
    connections: str = "connections",
    direction: str = "direction",
    center_ip: str | None = None,
    geolocator: Any = None,
    site: tuple[float, float] | None = None,
    precision: int = 2,
) -> Endpoints:
    """Per-IP totals (in pandas, vectorized), geolocation of the distinct IPs, then per-place
    totals. Places are rounded to `precision` decimals of a degree (2 = about 1 km)."""
    if not isinstance(df, pd.DataFrame):
        raise InputError("endpoints_map needs a pandas DataFrame with an IP column")
    if ip not in df.columns:
        raise InputError(
            f"no column {ip!r} in the data (columns: {', '.join(map(str, df.columns))}): "
            "pass ip='<your IP column>'"
        )
    if geolocator is None:
        from spot_lab.enrich.geo import default_geolocator

        geolocator = default_geolocator()
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc

    from spot_lab.enrich.netcontext import to_arrow_strings
    from spot_lab.queries import sql

    n = len(df)
    rows = {"ip": pc.utf8_trim_whitespace(to_arrow_strings(df[ip]))}
    for name, column in (("bytes", bytes), ("connections", connections)):
        if column in df.columns:
            rows[name] = pd.to_numeric(df[column], errors="coerce").fillna(0).to_numpy(float)
        else:
            rows[name] = np.full(n, 1.0 if name == "connections" else 0.0)
    has_direction = direction in df.columns
    rows["dir"] = _direction_bits(df[direction]).to_numpy() if has_direction else np.zeros(n, int)
    con = duckdb.connect(":memory:")
    try:
        con.register("endpoint_rows", pa.table(rows))
        per_ip = con.sql(sql("maps", "endpoints_per_ip")).to_arrow_table()
        frame = geolocator.locate(per_ip["ip"]).drop(columns=["ip"])
        unlocated = int((frame["latitude"].isna() | frame["longitude"].isna()).sum())
        located = pa.Table.from_pandas(frame, preserve_index=False)
        for name in located.column_names:
            per_ip = per_ip.append_column(name, located[name])
        con.register("endpoint_ips", per_ip)
        params = {"precision": precision, "popup_ips": POPUP_IPS}
        places = con.sql(sql("maps", "endpoints_per_place"), params=params).to_arrow_table()
        origin = site
        if origin is None and center_ip is not None:
            loc = geolocator.locate([center_ip])
            if loc["latitude"].notna().iloc[0] and loc["longitude"].notna().iloc[0]:
                origin = (float(loc["latitude"].iloc[0]), float(loc["longitude"].iloc[0]))
    finally:
        con.close()
    places = places.to_pandas()
    places["direction"] = places["dir"].map(_NAMES)
    if origin is None and places["internal"].any():
        inside = places[places["internal"]]  # already ordered by bytes
        origin = (float(inside["lat"].iloc[0]), float(inside["lon"].iloc[0]))
    if origin is None:  # only external peers: they talk to our site
        origin = getattr(geolocator, "home", None)
    return Endpoints(
        places=places.drop(columns=["dir"]),
        origin=origin,
        total_ips=per_ip.num_rows,
        unlocated=int(unlocated),
        attribution=getattr(geolocator, "attribution", ""),
    )


def _scale(values: pd.Series, low: float, high: float) -> np.ndarray:
    """Square-root scaling into [low, high] (area proportional to volume)."""
    v = np.sqrt(np.maximum(values.to_numpy(dtype=float), 0))
    top = v.max() if len(v) else 0
    return low + (high - low) * (v / top if top > 0 else np.zeros_like(v))


class Place(NamedTuple):
    lat: float
    lon: float
    internal: bool
    ips: list
    n_ips: int
    bytes: float
    connections: float
    direction: str
    city: str | None
    country: str | None
    owners: list | None


def _popup(row: Place) -> str:
    ips = list(row.ips)
    shown = ", ".join(html.escape(str(i)) for i in ips)
    more = f" <i>+{row.n_ips - len(ips)} more</i>" if row.n_ips > len(ips) else ""
    where = ", ".join(str(p) for p in (row.city, row.country) if isinstance(p, str) and p)
    where = "internal" if row.internal and not where else where or "unknown place"
    owners = ", ".join(html.escape(str(o)) for o in (row.owners if row.owners is not None else []))
    owners = owners or "-"
    return (
        f"<b>{html.escape(where)}</b> ({row.direction})<br>"
        f"{row.n_ips} IPs, {int(row.connections):,} connections, {int(row.bytes):,} bytes<br>"
        f"owner: {owners}<br>{shown}{more}"
    )


LINE_CLASSES = 5  # line widths drawn; lines of one class and direction share one feature


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


def _records(ep: Endpoints) -> list[Place]:
    columns = {c: ep.places[c].tolist() for c in Place._fields}  # plain lists: fast to iterate
    return [Place(*values) for values in zip(*columns.values(), strict=True)]


def endpoint_layers(ep: Endpoints, popups: bool = True) -> tuple[dict, dict]:
    """The points and lines FeatureCollections (per-feature style; popup HTML in the
    properties when `popups`, else the place's row number in `ep.places`).

    One Point feature per place. Lines from the origin to the external places are grouped
    into at most 4 directions x LINE_CLASSES width classes of MultiLineString features, so
    the browser draws a handful of paths, not one per place."""
    places = ep.places
    volume = places["bytes"] if places["bytes"].sum() > 0 else places["connections"]
    radius = _scale(volume, 4, 22)
    width_class = np.rint(_scale(volume, 0, LINE_CLASSES - 1)).astype(int)
    points = []
    groups: dict[tuple[str, int], list] = {}
    records = _records(ep)
    for i, row in enumerate(records):
        color = COLORS["internal"] if row.internal else COLORS[row.direction]
        points.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
                "properties": {
                    "place": i,
                    "n_ips": int(row.n_ips),
                    "direction": row.direction,
                    "style": {
                        "radius": round(float(radius[i]), 1),
                        "color": color,
                        "fillColor": color,
                        "weight": 1,
                        "fillOpacity": 0.55,
                    },
                },
            }
        )
        if not row.internal and ep.origin is not None:
            segment = [[ep.origin[1], ep.origin[0]], [row.lon, row.lat]]
            groups.setdefault((row.direction, int(width_class[i])), []).append(segment)
    if popups:
        for feature, row in zip(points, records, strict=True):
            feature["properties"]["popup"] = _popup(row)
    lines = [
        {
            "type": "Feature",
            "geometry": {"type": "MultiLineString", "coordinates": segments},
            "properties": {
                "direction": direction,
                "count": len(segments),
                "style": {"color": COLORS[direction], "weight": 1 + 1.5 * k, "opacity": 0.45},
            },
        }
        for (direction, k), segments in sorted(groups.items())
    ]
    return (
        {"type": "FeatureCollection", "features": points},
        {"type": "FeatureCollection", "features": lines},
    )


def _bounds(ep: Endpoints) -> list[list[float]]:
    lats = ep.places["lat"].tolist() + ([ep.origin[0]] if ep.origin else [])
    lons = ep.places["lon"].tolist() + ([ep.origin[1]] if ep.origin else [])
    if not lats:
        return [[-55.0, -170.0], [75.0, 170.0]]
    pad = 1.0
    return [
        [max(min(lats) - pad, -85.0), max(min(lons) - pad, -180.0)],
        [min(max(lats) + pad, 85.0), min(max(lons) + pad, 180.0)],
    ]


def _view(bounds: list[list[float]], width: int = 900, height: int = 450) -> tuple:
    """Center and the largest zoom showing `bounds` (Web Mercator), like Leaflet's fitBounds."""
    (s, w), (n, e) = bounds

    def y(lat: float) -> float:
        rad = math.radians(lat)
        return math.log(math.tan(math.pi / 4 + rad / 2))

    dx = max((e - w) / 360.0, 1e-9)
    dy = max((y(n) - y(s)) / (2 * math.pi), 1e-9)
    zoom = int(max(1, min(10, math.floor(math.log2(min(width / 256 / dx, height / 256 / dy))))))
    return ((s + n) / 2, (w + e) / 2), zoom


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
    bounds = _bounds(ep)
    center, zoom = _view(bounds)
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
        popup.child.value = _popup(Place(*(place[f] for f in Place._fields)))
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


# ---- standalone HTML --------------------------------------------------------------------
def _map_spec(m) -> dict:
    from ipyleaflet import GeoJSON, LegendControl, TileLayer, WidgetControl

    spec: dict[str, Any] = {
        "center": list(m.center),
        "zoom": m.zoom,
        "bounds": getattr(m, "spot_bounds", None),
        "panes": m.panes,
        "tiles": [],
        "geojson": [],
        "legends": [],
        "notes": [],
    }
    for layer in m.layers:
        if isinstance(layer, TileLayer):
            spec["tiles"].append(
                {"url": layer.url, "attribution": layer.attribution or "", "max_zoom": 18}
            )
        elif isinstance(layer, GeoJSON):
            spec["geojson"].append(
                {
                    "name": layer.name,
                    "data": _with_popups(m, layer),
                    "style": layer.style,
                    "point_style": layer.point_style,
                    "pane": layer.pane,
                }
            )
    for control in m.controls:
        if isinstance(control, LegendControl):
            spec["legends"].append(
                {"title": control.title, "legend": control.legend, "position": control.position}
            )
        elif isinstance(control, WidgetControl) and hasattr(control.widget, "value"):
            spec["notes"].append({"html": control.widget.value, "position": control.position})
    return spec


_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>{css}</style>
<style>html,body{{margin:0;height:100%}}#map{{height:100%;background:#cfe3ef}}
.spot-legend{{background:#fff;padding:6px 8px;font:12px sans-serif;border-radius:4px}}
.spot-legend i{{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:5px}}
.spot-note{{background:#fff;padding:3px 6px;border-radius:4px}}</style>
<script>{leaflet}</script></head>
<body><div id="map"></div>
<script type="application/json" id="spot-map-spec">{spec}</script>
<script>
(function () {{
  var spec = JSON.parse(document.getElementById("spot-map-spec").textContent);
  var map = L.map("map", {{center: spec.center, zoom: spec.zoom, scrollWheelZoom: true}});
  Object.keys(spec.panes || {{}}).forEach(function (name) {{
    var pane = map.createPane(name), style = spec.panes[name];
    Object.keys(style).forEach(function (k) {{ pane.style[k] = style[k]; }});
  }});
  spec.tiles.forEach(function (t) {{
    L.tileLayer(t.url, {{attribution: t.attribution, maxZoom: t.max_zoom}}).addTo(map);
  }});
  spec.geojson.forEach(function (g) {{
    var options = {{
      style: function (f) {{ return Object.assign({{}}, (f && f.properties && f.properties.style) || {{}}, g.style); }},
      onEachFeature: function (f, layer) {{
        if (f.properties && f.properties.popup) {{ layer.bindPopup(f.properties.popup, {{maxWidth: 360}}); }}
      }}
    }};
    if (g.pane) {{ options.pane = g.pane; }}
    if (Object.keys(g.point_style || {{}}).length) {{
      options.pointToLayer = function (f, latlng) {{ return L.circleMarker(latlng, g.point_style); }};
    }}
    var layer = L.geoJSON(g.data, options).addTo(map);
    layer.getPane().classList.add("spot-layer-" + g.name.replace(/\\W+/g, "-"));
  }});
  spec.legends.forEach(function (lg) {{
    var c = L.control({{position: lg.position}});
    c.onAdd = function () {{
      var div = L.DomUtil.create("div", "spot-legend"), rows = ["<b>" + lg.title + "</b>"];
      Object.keys(lg.legend).forEach(function (k) {{
        rows.push('<i style="background:' + lg.legend[k] + '"></i>' + k);
      }});
      div.innerHTML = rows.join("<br>");
      return div;
    }};
    c.addTo(map);
  }});
  spec.notes.forEach(function (n) {{
    var c = L.control({{position: n.position}});
    c.onAdd = function () {{ var d = L.DomUtil.create("div", "spot-note"); d.innerHTML = n.html; return d; }};
    c.addTo(map);
  }});
  if (spec.bounds) {{ map.fitBounds(spec.bounds); }}
  window.spotMap = map;
  document.body.setAttribute("data-spot-map", "ready");
}})();
</script></body></html>
"""


def _with_popups(m, layer) -> dict:
    """The endpoints layer's data with popup HTML added (the widget builds popups on click)."""
    ep = getattr(m, "spot_endpoints", None)
    features = layer.data.get("features", [])
    if ep is None or not features or "place" not in features[0].get("properties", {}):
        return layer.data
    records = _records(ep)
    return {
        **layer.data,
        "features": [
            {
                **f,
                "properties": {
                    **f["properties"],
                    "popup": _popup(records[f["properties"]["place"]]),
                },
            }
            for f in features
        ],
    }


def save_html(m, path: str | os.PathLike, title: str = "spot-lab map") -> Path:
    """Write `m` (a map from `endpoints_map`) as one standalone HTML file: Leaflet 1.9.4 (the
    version jupyter-leaflet uses), its CSS and the map's layers inline, so the page renders
    offline and in reports. Tiles still need network; the world outline does not."""
    data = resources.files("spot_lab.data").joinpath("leaflet")
    spec = json.dumps(_map_spec(m), separators=(",", ":")).replace("</", "<\\/")
    page = _PAGE.format(
        title=html.escape(title),
        css=data.joinpath("leaflet.css").read_text(),
        leaflet=data.joinpath("leaflet.js").read_text(),
        spec=spec,
    )
    target = Path(path).expanduser()
    tmp = target.with_name(f".{target.name}.partial")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    return target


# ---- static figure ------------------------------------------------------------------------
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
    size = _scale(volume, 12, 400)
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
        widths = _scale(volume[external], 0.4, 3)
        line_colors = [c for c, e in zip(colors, external, strict=True) if e]
        ax.add_collection(LineCollection(segs, colors=line_colors, linewidths=widths, alpha=0.4))
    ax.scatter(places["lon"], places["lat"], s=size, c=colors, alpha=0.6, edgecolors="white")
    (s, w), (n, e) = _bounds(ep)
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
