# %% [markdown]
# ## Where are the other ends? Geolocation, network context and maps
#
# Enrichment works inside SQL: every DuckDB connection has `spot_internal(ip)`,
# `spot_net_context(ip)`, `spot_net_category(ip)`, `spot_geo(ip)` (a struct: country_code,
# country, region, city, latitude, longitude, owner, asn), `spot_geo_country(ip)`,
# `spot_geo_city(ip)` and the `network_context` relation. The functions are vectorized: a
# batch of rows goes to one call, which looks each distinct IP up once.
#
# The day's traffic between our networks and the outside, per external endpoint
# (inbound = the outside started it, outbound = we did):

# %%
%%spotquery peers --date {DEMO_DATE}
WITH crossing AS (
    SELECT sip, dip, ibyt + obyt AS bytes,
           spot_internal(sip) AS src_in, spot_internal(dip) AS dst_in
    FROM flow
)
SELECT CASE WHEN src_in THEN dip ELSE sip END AS ip,
       CASE WHEN src_in THEN 'outbound' ELSE 'inbound' END AS direction,
       sum(bytes)::BIGINT AS bytes,
       count(*) AS connections
FROM crossing
WHERE src_in <> dst_in
GROUP BY ALL
ORDER BY bytes DESC

# %% [markdown]
# Countries and owners, straight from SQL (the geolocation database is DB-IP City Lite
# unless `SpotLab.geoip_db` points at another City mmdb or at Spot's `iploc.csv`):

# %%
%%spotquery --date {DEMO_DATE}
SELECT spot_geo(dip).country AS country, count(DISTINCT dip) AS endpoints,
       sum(ibyt + obyt)::BIGINT AS bytes
FROM flow
WHERE spot_internal(sip) AND NOT spot_internal(dip)
GROUP BY ALL
ORDER BY bytes DESC
LIMIT 8

# %% [markdown]
# The same enrichment from Python: a column of IPs in, flat columns out, one row per input
# row in the same order. Internal hosts are not looked up; they are placed at their site
# (`context/sites.csv`) and named by the network context.

# %%
from spot_lab.geo import default_geolocator

locator = default_geolocator()
located = locator.locate(peers["ip"])
print(f"{len(peers):,} rows, {located['valid'].sum():,} valid IPs, source: {locator.path.name}")
located[["ip", "country_code", "region", "city", "latitude", "longitude"]].head(8)

# %% [markdown]
# Network context in SQL: the busiest internal sources with their context name and Spot's
# impact-analysis category (VPN / DMZ / Proxy / FW).

# %%
%%spotquery top_talkers --date {DEMO_DATE}
SELECT sip AS ip, spot_net_context(sip) AS name, spot_net_category(sip) AS category,
       count(*) AS flows
FROM flow
WHERE spot_internal(sip)
GROUP BY ALL
ORDER BY flows DESC
LIMIT 5

# %% [markdown]
# ### The endpoints map
#
# One circle per place (radius by bytes, colour by direction), lines from our site to each
# place weighted by volume, a popup per place listing its IPs, counts, bytes and owners.
# Everything is drawn as three bulk GeoJSON layers, so tens of thousands of endpoints stay
# interactive. Where map tiles cannot load (air-gapped SOCs), the bundled Natural Earth
# outline keeps the map readable.

# %%
from spot_lab.maps import endpoints_map, save_html

m = endpoints_map(peers)
print(m.spot_endpoints.total_ips, "endpoints in", len(m.spot_endpoints.places), "places")
m

# %% [markdown]
# `save_html` writes a standalone page (Leaflet and the data inline, no network needed) for
# reports and tickets; `endpoints_figure` draws the same aggregation with matplotlib.

# %%
%matplotlib inline
import tempfile
from pathlib import Path

from spot_lab.maps import endpoints_figure

page = save_html(m, Path(tempfile.mkdtemp()) / "demo-endpoints.html", title="Demo day endpoints")
print(f"saved {page} ({page.stat().st_size / 1e6:.1f} MB)")
endpoints_figure(peers, title=f"External endpoints on {DEMO_DATE}")
