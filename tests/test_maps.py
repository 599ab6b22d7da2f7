"""spot_lab.display.maps: aggregation by place, bulk layers, popups, legend, save_html, figure."""

from __future__ import annotations

import json
import re
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from ipyleaflet import GeoJSON, LegendControl, Map
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from spot_lab.display import endpoints, maps
from spot_lab.enrich.geo import GeoLocator
from spot_lab.errors import InputError
from tests.test_geo import city_mmdb  # noqa: F401 - shared fixture (Paris, Tokyo, Berlin)

N_PLACES = 150


@pytest.fixture(scope="module")
def world_mmdb(tmp_path_factory):
    """N_PLACES /24 networks 41.0.k.0/24, each at its own place, owner AS-k."""
    path = tmp_path_factory.mktemp("mmdb") / "world.mmdb"
    writer = MMDBWriter(ip_version=6, database_type="GeoIP2-City", ipv4_compatible=True)
    for k in range(N_PLACES):
        writer.insert_network(
            IPSet([f"41.0.{k}.0/24"]),
            {
                "country": {"iso_code": "XX", "names": {"en": f"Country{k}"}},
                "city": {"names": {"en": f"City{k}"}},
                "location": {"latitude": -40 + k * 0.5, "longitude": -150 + k * 2.0},
                "traits": {"autonomous_system_organization": f"AS-{k}"},
            },
        )
    writer.to_db_file(str(path))
    return path


@pytest.fixture()
def paris_tokyo(city_mmdb):  # noqa: F811
    return GeoLocator(city_mmdb, site=(41.88, -87.63), attribution="IP Geolocation by DB-IP")


def _frame():
    return pd.DataFrame(
        {
            "peer": ["81.0.0.1", "81.0.0.2", "81.0.0.1", "81.0.7.7", "133.0.0.1", "10.0.0.5", "x"],
            "bytes": [100, 200, 300, 400, 50, 10, 5],
            "conns": [1, 2, 3, 4, 5, 6, 7],
            "dir": ["inbound", "inbound", "outbound", "in", "outbound", "two-way", "out"],
        }
    )


def test_aggregates_endpoints_by_place(paris_tokyo):
    ep = endpoints.aggregate_endpoints(
        _frame(), ip="peer", connections="conns", direction="dir", geolocator=paris_tokyo
    )
    assert ep.total_ips == 6 and ep.unlocated == 1  # 'x' is invalid, the rest placed
    places = ep.places.set_index("city")
    paris = places.loc["Paris"]
    assert paris["n_ips"] == 3 and paris["bytes"] == 1000 and paris["connections"] == 10
    assert paris["direction"] == "two-way"  # inbound and outbound rows at one place
    assert list(paris["ips"]) == ["81.0.0.1", "81.0.7.7", "81.0.0.2"]  # biggest first
    assert list(paris["owners"]) == ["Orange"]
    tokyo = places.loc["Tokyo"]
    assert tokyo["direction"] == "outbound" and tokyo["n_ips"] == 1
    internal = ep.places[ep.places["internal"]]
    assert internal[["lat", "lon"]].values.tolist() == [[41.88, -87.63]]  # at the site
    assert ep.origin == (41.88, -87.63)


def test_layers_do_not_grow_with_endpoints(world_mmdb):
    locator = GeoLocator(world_mmdb, site=(0.0, 0.0))
    rng = np.random.default_rng(7)

    def build(n):
        ips = [
            f"41.0.{k}.{h}"
            for k, h in zip(rng.integers(0, N_PLACES, n), rng.integers(1, 255, n), strict=True)
        ]
        frame = pd.DataFrame(
            {
                "ip": ips,
                "bytes": rng.integers(1, 10**6, n),
                "direction": rng.choice(["inbound", "outbound", "two-way"], n),
            }
        )
        return maps.endpoints_map(frame, geolocator=locator)

    small, large = build(20), build(5000)
    for m in (small, large):
        assert isinstance(m, Map)
    assert len(small.layers) == len(large.layers) == 4  # tiles, outline, lines, points
    assert len(small.controls) == len(large.controls)
    points = [layer for layer in large.layers if isinstance(layer, GeoJSON)][-1]
    lines = [layer for layer in large.layers if isinstance(layer, GeoJSON)][-2]
    assert len(points.data["features"]) == N_PLACES  # one feature per place, not per IP
    assert sum(len(f["geometry"]["coordinates"]) for f in lines.data["features"]) == N_PLACES
    assert len(lines.data["features"]) <= 3 * endpoints.LINE_CLASSES  # bulk lines
    assert sum(f["properties"]["n_ips"] for f in points.data["features"]) == (
        large.spot_endpoints.total_ips
    )
    assert large.spot_endpoints.places["n_ips"].sum() == large.spot_endpoints.total_ips


def test_popups_legend_radius_and_attribution(paris_tokyo):
    m = maps.endpoints_map(
        _frame(), ip="peer", connections="conns", direction="dir", geolocator=paris_tokyo
    )
    points = endpoints.endpoint_layers(m.spot_endpoints)[0]["features"]
    paris = next(f for f in points if "Paris" in f["properties"]["popup"])
    popup = paris["properties"]["popup"]
    assert "3 IPs" in popup and "10 connections" in popup and "1,000 bytes" in popup
    assert "81.0.0.1" in popup and "Orange" in popup and "two-way" in popup
    tokyo = next(f for f in points if "Tokyo" in f["properties"]["popup"])
    assert paris["properties"]["style"]["radius"] > tokyo["properties"]["style"]["radius"]
    assert paris["properties"]["style"]["color"] == endpoints.COLORS["two-way"]
    assert tokyo["properties"]["style"]["color"] == endpoints.COLORS["outbound"]
    legend = next(c for c in m.controls if isinstance(c, LegendControl))
    assert set(legend.legend) == {"two-way", "outbound", "internal"}
    assert "IP Geolocation by DB-IP" in m.layers[0].attribution
    assert "Natural Earth" in m.layers[0].attribution
    south_west, north_east = m.spot_bounds
    assert south_west[0] <= 35.6 and north_east[0] >= 48.9  # Tokyo and Paris in the frame
    assert south_west[1] <= -87.6 and north_east[1] >= 139.7  # and the site


def test_click_on_a_place_opens_its_popup(paris_tokyo):
    from ipyleaflet import Popup

    m = maps.endpoints_map(_frame(), ip="peer", geolocator=paris_tokyo)
    layer = m.layers[-1]
    assert all("popup" not in f["properties"] for f in layer.data["features"])  # kept light
    tokyo = next(
        f for f in layer.data["features"] if f["geometry"]["coordinates"] == [139.69, 35.69]
    )
    layer._handle_mouse_events(None, {"event": "click", "feature": tokyo}, None)  # as Leaflet
    popup = next(layer for layer in m.layers if isinstance(layer, Popup))
    assert "Tokyo" in popup.child.value and "133.0.0.1" in popup.child.value
    assert list(popup.location) == [35.69, 139.69]


def test_popup_lists_at_most_popup_ips(world_mmdb):
    locator = GeoLocator(world_mmdb)
    frame = pd.DataFrame({"ip": [f"41.0.3.{h}" for h in range(1, 41)]})
    m = maps.endpoints_map(frame, geolocator=locator)
    popup = endpoints.endpoint_layers(m.spot_endpoints)[0]["features"][0]["properties"]["popup"]
    assert popup.count("41.0.3.") == endpoints.POPUP_IPS and "+25 more" in popup
    assert "40 connections" in popup  # no connections column: one per row


def test_center_ip_sets_line_origin(paris_tokyo):
    frame = _frame()[lambda d: d["peer"] != "10.0.0.5"]
    locator = GeoLocator(paris_tokyo.path)
    ep = endpoints.aggregate_endpoints(frame, ip="peer", center_ip="133.0.0.1", geolocator=locator)
    assert ep.origin == pytest.approx((35.6895, 139.6917))
    m = maps.endpoints_map(frame, ip="peer", geolocator=locator)  # no site, nothing internal
    assert m.layers[-2].data["features"] == []  # no origin: no lines drawn


def test_bad_and_empty_input(paris_tokyo):
    with pytest.raises(InputError, match="no column 'ip' in the data .*pass ip="):
        maps.endpoints_map(pd.DataFrame({"src": ["1.1.1.1"]}), geolocator=paris_tokyo)
    with pytest.raises(InputError, match="needs a pandas DataFrame"):
        maps.endpoints_map(["1.1.1.1"], geolocator=paris_tokyo)
    m = maps.endpoints_map(pd.DataFrame({"ip": []}), geolocator=paris_tokyo)
    assert m.layers[-1].data["features"] == [] and m.spot_endpoints.total_ips == 0
    nowhere = maps.endpoints_map(pd.DataFrame({"ip": ["bad", "also bad"]}), geolocator=paris_tokyo)
    assert nowhere.spot_endpoints.unlocated == 2


def test_offline_outline_is_bundled_small_and_credited():
    path = resources.files("spot_lab.data").joinpath("world_110m.geojson")
    assert len(path.read_bytes()) < 1_000_000
    outline = endpoints.world_outline()
    assert len(outline["features"]) > 150
    names = {f["properties"]["name"] for f in outline["features"]}
    assert {"France", "Japan", "Brazil", "Australia"} <= names
    notice = resources.files("spot_lab.data").joinpath("NOTICE").read_text()
    assert "Natural Earth" in notice and "public domain" in notice and "Leaflet" in notice


def test_save_html_is_standalone(paris_tokyo, tmp_path):
    m = maps.endpoints_map(
        _frame(), ip="peer", connections="conns", direction="dir", geolocator=paris_tokyo
    )
    path = maps.save_html(m, tmp_path / "map.html", title="Threat <x>")
    page = path.read_text()
    assert "<title>Threat &lt;x&gt;</title>" in page
    assert not re.search(r"<(script|link)[^>]+(src|href)=", page)  # nothing fetched
    assert "Leaflet 1.9.4" in page
    spec = json.loads(re.search(r'id="spot-map-spec">(.*?)</script>', page, re.S).group(1))
    names = [g["name"] for g in spec["geojson"]]
    assert names == ["world outline", "flows", "endpoints"]
    assert len(spec["geojson"][2]["data"]["features"]) == len(m.spot_endpoints.places)
    assert (
        spec["legends"][0]["legend"]
        == next(c for c in m.controls if isinstance(c, LegendControl)).legend
    )
    assert spec["bounds"] == m.spot_bounds
    assert list(tmp_path.iterdir()) == [path]  # written atomically, no leftovers


def test_endpoints_figure(paris_tokyo):
    fig = maps.endpoints_figure(
        _frame(), ip="peer", connections="conns", direction="dir", geolocator=paris_tokyo,
        title="External endpoints",
    )  # fmt: skip
    ax = fig.axes[0]
    assert len(ax.collections[-1].get_offsets()) == 3  # Paris, Tokyo, the internal site
    assert ax.get_title().startswith("External endpoints: 6 endpoints in 3 places")
    assert any("DB-IP" in t.get_text() for t in ax.texts)


def test_lines_start_at_the_home_site_from_sites_csv(city_mmdb, tmp_path):  # noqa: F811
    from spot_lab.enrich.netcontext import NetworkContext

    sites = tmp_path / "sites.csv"
    sites.write_text("subnet,name,site,lat,lon\n10.0.0.0/24,FW,HQ,41.8781,-87.6298\n")
    locator = GeoLocator(city_mmdb, sites=NetworkContext.from_csv(sites))
    m = maps.endpoints_map(pd.DataFrame({"ip": ["81.0.0.1", "133.0.0.1"]}), geolocator=locator)
    assert m.spot_endpoints.origin == (41.8781, -87.6298)
    segments = [s for f in m.layers[-2].data["features"] for s in f["geometry"]["coordinates"]]
    assert sorted(segments) == [[[-87.6298, 41.8781], [2.35, 48.86]],
                                [[-87.6298, 41.8781], [139.69, 35.69]]]  # fmt: skip
