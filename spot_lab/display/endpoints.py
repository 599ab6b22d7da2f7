"""Endpoints aggregated before drawing: each distinct IP geolocated once, grouped by place
(rounded latitude/longitude), and drawn as a few bulk GeoJSON features whatever the number
of IPs: one circle per place, weighted lines from the internal side grouped by direction and
width class, and the bundled Natural Earth 1:110m world outline (maps read offline).
Used by the ipyleaflet map (maps.py), its standalone page (map_page.py) and the matplotlib
figure (map_figure.py).
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
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


def scale(values: pd.Series, low: float, high: float) -> np.ndarray:
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


def popup_html(row: Place) -> str:
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


def place_records(ep: Endpoints) -> list[Place]:
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
    radius = scale(volume, 4, 22)
    width_class = np.rint(scale(volume, 0, LINE_CLASSES - 1)).astype(int)
    points = []
    groups: dict[tuple[str, int], list] = {}
    records = place_records(ep)
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
            feature["properties"]["popup"] = popup_html(row)
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


def bounds_of(ep: Endpoints) -> list[list[float]]:
    lats = ep.places["lat"].tolist() + ([ep.origin[0]] if ep.origin else [])
    lons = ep.places["lon"].tolist() + ([ep.origin[1]] if ep.origin else [])
    if not lats:
        return [[-55.0, -170.0], [75.0, 170.0]]
    pad = 1.0
    return [
        [max(min(lats) - pad, -85.0), max(min(lons) - pad, -180.0)],
        [min(max(lats) + pad, 85.0), min(max(lons) + pad, 180.0)],
    ]


def view_of(bounds: list[list[float]], width: int = 900, height: int = 450) -> tuple:
    """Center and the largest zoom showing `bounds` (Web Mercator), like Leaflet's fitBounds."""
    (s, w), (n, e) = bounds

    def y(lat: float) -> float:
        rad = math.radians(lat)
        return math.log(math.tan(math.pi / 4 + rad / 2))

    dx = max((e - w) / 360.0, 1e-9)
    dy = max((y(n) - y(s)) / (2 * math.pi), 1e-9)
    zoom = int(max(1, min(10, math.floor(math.log2(min(width / 256 / dx, height / 256 / dy))))))
    return ((s + n) / 2, (w + e) / 2), zoom
