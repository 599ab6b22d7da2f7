"""A map from `endpoints_map` as one standalone HTML page: Leaflet, its CSS and the map's
layers inline, so it renders offline and in reports."""

from __future__ import annotations

import html
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

from spot_lab.display.endpoints import place_records, popup_html


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
    records = place_records(ep)
    return {
        **layer.data,
        "features": [
            {
                **f,
                "properties": {
                    **f["properties"],
                    "popup": popup_html(records[f["properties"]["place"]]),
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
