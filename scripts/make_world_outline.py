"""Build spot_lab/data/world_110m.geojson, the offline basemap of spot-lab maps (run once).

Input: `countries-110m.json` from the npm package world-atlas 2.0.2 (Natural Earth 1:110m
Admin 0 countries, public domain, as TopoJSON), fetched with the ordinary npm client:

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    .venv/bin/python scripts/make_world_outline.py package/countries-110m.json

TopoJSON arcs are delta-encoded integers; each polygon ring lists arc indexes (~i = arc i
reversed). Coordinates are rounded to 0.01 degree to keep the file small.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "spot_lab" / "data" / "world_110m.geojson"


def decode_arcs(topo: dict) -> list[list[list[float]]]:
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append([round(x * sx + tx, 2), round(y * sy + ty, 2)])
        arcs.append(points)
    return arcs


def ring(indexes: list[int], arcs: list) -> list[list[float]]:
    points: list[list[float]] = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        points.extend(arc if not points else arc[1:])  # consecutive arcs share an end point
    shift = 0.0  # unwrap rings crossing the antimeridian (Fiji, Chukotka) so no band is drawn
    out = [points[0]]
    for (x0, _), (x1, y1) in zip(points, points[1:], strict=False):
        if x1 - x0 > 180:
            shift -= 360
        elif x0 - x1 > 180:
            shift += 360
        out.append([round(x1 + shift, 2), y1])
    return out


def main(source: str) -> None:
    topo = json.loads(Path(source).read_text())
    arcs = decode_arcs(topo)
    features = []
    for geom in topo["objects"]["countries"]["geometries"]:
        if geom["type"] == "Polygon":
            coords = [[ring(r, arcs) for r in geom["arcs"]]]
        elif geom["type"] == "MultiPolygon":
            coords = [[ring(r, arcs) for r in poly] for poly in geom["arcs"]]
        else:
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {"name": geom.get("properties", {}).get("name", "")},
                "geometry": {"type": "MultiPolygon", "coordinates": coords},
            }
        )
    out = {"type": "FeatureCollection", "features": features}
    TARGET.write_text(json.dumps(out, separators=(",", ":")))
    print(f"{TARGET}: {len(features)} countries, {TARGET.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main(sys.argv[1])
