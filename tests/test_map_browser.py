"""A saved 10,000-endpoint map renders in real Chromium, offline (no tiles, no CDN)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spot_lab.display import endpoints, maps
from spot_lab.enrich.geo import DBIP_ATTRIBUTION, GeoLocator, dbip_path
from tests.support import CHROMIUM_ARGS, chromium_path, require

pytestmark = pytest.mark.browser


def ten_thousand_endpoints(seed: int = 17) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    keys = (1 << 24) + rng.choice((222 << 24) - 1, 12_000, replace=False)
    ips = [f"{k >> 24}.{(k >> 16) & 255}.{(k >> 8) & 255}.{k & 255}" for k in keys]
    ips = [ip for ip in ips if not ip.startswith(("10.", "127.", "100.", "172.", "192.168."))]
    ips = ips[:10_000]
    return pd.DataFrame(
        {
            "ip": ips,
            "bytes": rng.integers(100, 10**7, len(ips)),
            "connections": rng.integers(1, 200, len(ips)),
            "direction": rng.choice(["inbound", "outbound", "two-way"], len(ips)),
        }
    )


@pytest.fixture(scope="module")
def saved_map(tmp_path_factory):
    path = dbip_path()
    require(path is not None, "spot-lab-dbip-city (DB-IP City Lite, spot-lab[geo])")
    locator = GeoLocator(path, site=(41.88, -87.63), attribution=DBIP_ATTRIBUTION)
    frame = ten_thousand_endpoints()
    assert frame["ip"].nunique() == 10_000
    m = maps.endpoints_map(frame, geolocator=locator)
    target = maps.save_html(m, tmp_path_factory.mktemp("map") / "endpoints.html")
    return m, target


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    require(chromium_path() is not None, "Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 600},
        )
        try:
            yield context
        finally:
            context.close()


def test_ten_thousand_endpoint_map_renders(saved_map, browser):
    m, path = saved_map
    ep = m.spot_endpoints
    assert ep.total_ips == 10_000 and len(ep.places) > 1000
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(path.as_uri(), wait_until="domcontentloaded")
    page.wait_for_selector("body[data-spot-map=ready]", timeout=60_000)
    assert errors == []
    assert page.locator(".leaflet-container").count() == 1
    lines = m.layers[-2].data["features"]
    drawn = page.locator(".leaflet-overlay-pane path").count()
    assert drawn == len(ep.places) + len(lines)  # every place and line group is on the map
    outline = page.locator(f".leaflet-{endpoints.OUTLINE_PANE}-pane path").count()
    assert outline == len(endpoints.world_outline()["features"])  # offline basemap present
    legend = page.locator(".spot-legend").inner_text()
    assert "inbound" in legend and "outbound" in legend and "two-way" in legend
    assert "IP Geolocation by DB-IP" in page.locator(".leaflet-control-attribution").inner_text()
    # a place's popup opens on click and lists its IPs
    page.locator(".leaflet-overlay-pane path.leaflet-interactive").last.click(force=True)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=10_000)
    assert "IPs" in popup.inner_text() and "bytes" in popup.inner_text()
    page.close()
