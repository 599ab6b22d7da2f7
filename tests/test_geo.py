"""spot_lab.enrich.geo against real mmdb files written with mmdb-writer, Spot's iploc.csv and DB-IP."""

from __future__ import annotations

import ipaddress
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from mmdb_writer import MmdbU32, MMDBWriter
from netaddr import IPSet

from spot_lab.config import SpotLab
from spot_lab.enrich import geo
from spot_lab.enrich.netcontext import InternalRanges, NetworkContext
from spot_lab.errors import InputError
from tests.support import require


def _city(code, country, region, city, lat, lon, asn=None, org=None):
    rec = {
        "country": {"iso_code": code, "names": {"en": country}},
        "subdivisions": [{"names": {"en": region}}],
        "city": {"names": {"en": city}},
        "location": {"latitude": lat, "longitude": lon},
    }
    if asn is not None:
        rec["traits"] = {
            "autonomous_system_number": MmdbU32(asn),
            "autonomous_system_organization": org,
        }
    return rec


PARIS = _city("FR", "France", "Ile-de-France", "Paris", 48.8566, 2.3522, 3215, "Orange")
TOKYO = _city("JP", "Japan", "Tokyo", "Tokyo", 35.6895, 139.6917)
BERLIN6 = _city("DE", "Germany", "Berlin", "Berlin", 52.52, 13.405, 3320, "Deutsche Telekom")


@pytest.fixture(scope="module")
def city_mmdb(tmp_path_factory):
    path = tmp_path_factory.mktemp("mmdb") / "test-city.mmdb"
    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-City", ipv4_compatible=True)
    writer.insert_network(IPSet(["81.0.0.0/16"]), PARIS)
    writer.insert_network(IPSet(["133.0.0.0/16"]), TOKYO)
    writer.insert_network(IPSet(["2a01:100::/32"]), BERLIN6)
    writer.to_db_file(str(path))
    return path


@pytest.fixture(scope="module")
def asn_mmdb(tmp_path_factory):
    path = tmp_path_factory.mktemp("mmdb") / "test-asn.mmdb"
    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-ASN", ipv4_compatible=True)
    writer.insert_network(
        IPSet(["81.0.0.0/16"]),
        {"autonomous_system_number": MmdbU32(3215), "autonomous_system_organization": "Orange"},
    )
    writer.to_db_file(str(path))
    return path


@pytest.fixture()
def locator(city_mmdb):
    return geo.GeoLocator(city_mmdb)


def test_columns_values_and_owner(locator):
    out = locator.locate(["81.0.1.2", "133.0.9.9", "2a01:100::5"])
    assert list(out.columns) == list(geo.COLUMNS)
    paris, tokyo, berlin = out.to_dict("records")
    assert (paris["country_code"], paris["city"], paris["region"]) == (
        "FR",
        "Paris",
        "Ile-de-France",
    )
    assert paris["latitude"] == pytest.approx(48.8566) and paris["owner"] == "Orange"
    assert paris["asn"] == 3215
    assert tokyo["city"] == "Tokyo" and pd.isna(tokyo["owner"]) and pd.isna(tokyo["asn"])
    assert berlin["country"] == "Germany" and berlin["asn"] == 3320  # IPv6
    assert out["valid"].all() and not out["internal"].any()


def test_rows_order_and_duplicates_preserved(locator):
    rng = np.random.default_rng(5)
    pool = ["81.0.1.2", "133.0.9.9", "10.1.1.1", "bogus", None, "2a01:100::5", "8.8.8.8"]
    ips = pd.Series(rng.choice(np.array(pool, dtype=object), 5000), index=np.arange(5000) * 3)
    out = locator.locate(ips)
    assert len(out) == len(ips) and (out.index == ips.index).all()  # no msticpy-style k^2 rows
    assert (out["ip"].isna() == ips.isna()).all()
    assert out["ip"].dropna().tolist() == ips.dropna().tolist()
    expected_city = {"81.0.1.2": "Paris", "133.0.9.9": "Tokyo", "2a01:100::5": "Berlin"}
    got = out["city"].fillna("-").tolist()
    assert got == [expected_city.get(v, "-") for v in ips.tolist()]


def test_arrow_and_list_inputs_agree(locator):
    ips = ["133.0.9.9", "81.0.1.2", "133.0.9.9"]
    from_list = locator.locate(ips)
    from_arrow = locator.locate(pa.chunked_array([pa.array(ips[:1]), pa.array(ips[1:])]))
    pd.testing.assert_frame_equal(from_list, from_arrow)


def test_arrow_backed_series_keeps_its_index(locator):
    table = pa.Table.from_batches(
        [pa.record_batch({"ip": ["81.0.1.2", None]}), pa.record_batch({"ip": ["81.0.1.2"]})]
    )
    series = table.to_pandas(types_mapper=pd.ArrowDtype)["ip"].set_axis([7, 8, 9])
    out = locator.locate(series)
    assert out.index.tolist() == [7, 8, 9]
    assert out["city"].fillna("-").tolist() == ["Paris", "-", "Paris"]


def test_malformed_ips_are_flagged_not_raised(locator):
    bad = ["", "1.2.3", "256.1.1.1", "01.2.3.4", "1.2.3.4.5", "::gg", "hello", None, " 81.0.1.2 "]
    out = locator.locate(bad)
    assert out["valid"].tolist() == [False] * 8 + [True]
    assert out["city"].iloc[-1] == "Paris"  # surrounding whitespace is tolerated
    assert out.loc[:7, "latitude"].isna().all()


def test_empty_input(locator):
    for empty in ([], pd.Series([], dtype="str"), pa.array([], pa.string())):
        out = locator.locate(empty)
        assert len(out) == 0 and list(out.columns) == list(geo.COLUMNS)


def test_private_reserved_and_configured_ranges_are_internal(city_mmdb):
    ranges = InternalRanges(
        [(False, int(ipaddress.ip_address("81.0.0.0")), int(ipaddress.ip_address("81.0.0.255")))]
    )
    locator = geo.GeoLocator(city_mmdb, internal=ranges)
    special = ["10.2.3.4", "172.16.5.5", "192.168.1.1", "127.0.0.1", "169.254.1.1", "100.64.0.1",
               "224.0.0.5", "0.0.0.0", "fe80::1", "fc00::1", "::1", "2001:db8::1"]  # fmt: skip
    out = locator.locate([*special, "81.0.0.9", "81.0.1.9", "8.8.8.8", "2a01:100::1"])
    assert out["internal"].tolist() == [True] * 13 + [False] * 3
    for text in special:  # agrees with the ipaddress module's notion of non-global space
        ip = ipaddress.ip_address(text)
        assert not ip.is_global or ip.is_multicast
    assert out["city"].iloc[12] is None or pd.isna(out["city"].iloc[12])  # internal: not looked up


def test_internal_hosts_placed_at_site(city_mmdb, tmp_path):
    sites = tmp_path / "sites.csv"
    sites.write_text("subnet,name,site,lat,lon\n10.0.1.0/24,Server farm,HQ,41.8781,-87.6298\n")
    locator = geo.GeoLocator(city_mmdb, sites=NetworkContext.from_csv(sites), site=(1.0, 2.0))
    out = locator.locate(["10.0.1.7", "10.9.9.9", "133.0.0.1"])
    assert out[["latitude", "longitude"]].values.tolist() == [
        [41.8781, -87.6298],  # the site of its subnet
        [1.0, 2.0],  # the default site
        [35.6895, 139.6917],
    ]
    unplaced = geo.GeoLocator(city_mmdb).locate(["10.0.1.7"])
    assert unplaced["latitude"].isna().all() and unplaced["internal"].all()


def test_iploc_csv_checks_range_end(tmp_path):
    path = tmp_path / "iploc.csv"
    path.write_text(
        '"16777216","16777471","AU","Australia","Queensland","Brisbane","-27.46","153.02",'
        '"APNIC Debogon","apnic.net"\n'
        '"134744064","134744319","US","United States","California","Mountain View",'
        '"37.38","-122.08","Google LLC","google.com"\n'
    )
    locator = geo.open_locator(path)
    assert isinstance(locator, geo.IplocLocator)
    out = locator.locate(["8.8.8.8", "1.0.0.1", "1.0.1.1", "0.0.0.1", "2a01:100::1", "9.9.9.9"])
    assert out["city"].tolist()[:2] == ["Mountain View", "Brisbane"]
    # 1.0.1.1 and 9.9.9.9 lie after a range's end: Spot would have answered Brisbane / Google
    assert out["city"].iloc[2:].isna().all()
    assert out["domain"].tolist()[:2] == ["google.com", "apnic.net"]
    spot = geo.spot_columns(["8.8.8.8", "9.9.9.9", "10.0.0.1"], locator)
    assert spot["geoloc"].tolist() == ["California;Mountain View Google LLC", "", ""]
    assert spot["domain"].tolist() == ["google.com", "", ""]
    assert spot["internal"].tolist() == [0, 0, 1]


def test_bad_iploc_file(tmp_path):
    path = tmp_path / "iploc.csv"
    path.write_text('"abc","x"\n')
    with pytest.raises(InputError, match="not a Spot iploc.csv"):
        geo.open_locator(path)


def test_missing_corrupt_and_asn_databases(tmp_path, asn_mmdb):
    with pytest.raises(InputError, match="no geolocation database at .*SpotLab.geoip_db"):
        geo.GeoLocator(tmp_path / "nope.mmdb")
    corrupt = tmp_path / "corrupt.mmdb"
    corrupt.write_bytes(b"this is not an mmdb" * 50)
    with pytest.raises(InputError, match="cannot read .* as a MaxMind database"):
        geo.GeoLocator(corrupt)
    with pytest.raises(InputError, match="'GeoLite2-ASN' database, not a City database"):
        geo.GeoLocator(asn_mmdb)


def test_c_extension_is_used(locator):
    import maxminddb.extension  # noqa: F401 - the wheel ships it; the fast path must be on

    assert locator.fast
    assert type(locator.reader).__module__.startswith("maxminddb.extension")


def test_pure_python_fallback_warns(city_mmdb, monkeypatch):
    import maxminddb

    real = maxminddb.open_database

    def no_extension(path, mode=maxminddb.MODE_AUTO):
        if mode == maxminddb.MODE_MMAP_EXT:
            raise ValueError(
                "MODE_MMAP_EXT requires the maxminddb.extension module to be available"
            )
        return real(path, mode)

    monkeypatch.setattr(maxminddb, "open_database", no_extension)
    with pytest.warns(RuntimeWarning, match="C extension is unavailable"):
        locator = geo.GeoLocator(city_mmdb)
    assert not locator.fast and locator.locate(["81.0.0.1"])["city"].iloc[0] == "Paris"


def test_default_geolocator_uses_setting_and_caches(city_mmdb, tmp_path):
    settings = SpotLab(geoip_db=str(city_mmdb), lake=str(tmp_path))
    first = geo.default_geolocator(settings)
    assert first.path == city_mmdb and first.attribution == ""
    assert geo.default_geolocator(settings) is first  # opened once, reused
    bad = SpotLab(geoip_db=str(tmp_path / "missing.mmdb"), lake=str(tmp_path))
    with pytest.raises(InputError, match="no geolocation database at"):
        geo.default_geolocator(bad)


def test_default_without_any_database(monkeypatch, tmp_path):
    monkeypatch.setattr(geo, "dbip_path", lambda: None)
    geo._cached.cache_clear()
    with pytest.raises(InputError, match=r"pip install 'spot-lab\[geo\]'"):
        geo.default_geolocator(SpotLab(lake=str(tmp_path)))
    geo._cached.cache_clear()


def test_dbip_city_lite_from_its_package(tmp_path):
    path = geo.dbip_path()
    require(path is not None, "spot-lab-dbip-city (DB-IP City Lite, spot-lab[geo])")
    locator = geo.default_geolocator(SpotLab(lake=str(tmp_path)))
    assert locator.attribution == geo.DBIP_ATTRIBUTION == "IP Geolocation by DB-IP"
    assert "City" in locator.database_type
    out = locator.locate(["8.8.8.8", "81.2.69.142", "8.8.8.8", "10.0.0.1", "nope"])
    assert out["city"].tolist()[:3] == ["Mountain View", "London", "Mountain View"]
    assert out["country_code"].tolist()[:2] == ["US", "GB"]
    assert out["internal"].tolist() == [False, False, False, True, False]
    assert out["valid"].tolist() == [True, True, True, True, False]


def test_no_warnings_on_the_fast_path(locator):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        locator.locate(["81.0.0.1", "bad", None])


def test_ipv6_in_an_ipv4_only_database(tmp_path):
    path = tmp_path / "v4.mmdb"
    writer = MMDBWriter(ip_version=4, database_type="GeoIP2-City")
    writer.insert_network(IPSet(["81.0.0.0/16"]), PARIS)
    writer.to_db_file(str(path))
    out = geo.GeoLocator(path).locate(["2a01:100::5", "81.0.3.3"])
    assert out["valid"].tolist() == [True, True]
    assert out["city"].fillna("-").tolist() == ["-", "Paris"]


def test_ipinfo_style_flat_records(tmp_path):
    """IPinfo's MaxMind-format location files: flat string fields, coordinates as text."""
    path = tmp_path / "ipinfo.mmdb"
    writer = MMDBWriter(ip_version=6, database_type="ipinfo standard_location.mmdb",
                        ipv4_compatible=True)  # fmt: skip
    writer.insert_network(
        IPSet(["81.0.0.0/16"]),
        {"city": "Lyon", "region": "Auvergne-Rhone-Alpes", "country": "FR",
         "latitude": "45.75", "longitude": "4.85", "asn": "AS3215", "as_name": "Orange"},
    )  # fmt: skip
    writer.to_db_file(str(path))
    row = geo.GeoLocator(path).locate(["81.0.2.2"]).iloc[0]
    assert (row["country_code"], row["region"], row["city"]) == (
        "FR",
        "Auvergne-Rhone-Alpes",
        "Lyon",
    )
    assert (row["latitude"], row["longitude"]) == (45.75, 4.85)
    assert (row["owner"], row["asn"]) == ("Orange", 3215)
