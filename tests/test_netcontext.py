"""spot_lab.enrich.netcontext: Spot's context files, vectorized matching, and the SQL functions."""

from __future__ import annotations

import ipaddress

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.enrich.netcontext import (
    InternalRanges,
    NetworkContext,
    RangeTable,
    category_of,
    load_context,
    parse_ips,
)
from spot_lab.errors import InputError

CONTEXT = """srcIP,name
10.0.0.1,FW.core router
10.0.0.0-10.0.0.255,VPN.concentrators
10.0.0.0/8,DMZ.corp
192.0.54.0/24,Proxy.farm
2001:db8:1::/48,FW.v6 edge
"""


@pytest.fixture()
def context_file(tmp_path):
    path = tmp_path / "network_context.csv"
    path.write_text(CONTEXT)
    return path


def test_first_match_wins_for_ip_range_and_cidr(context_file):
    ctx = NetworkContext.from_csv(context_file)
    ips = ["10.0.0.1", "10.0.0.7", "10.9.9.9", "192.0.54.20", "2001:db8:1::9", "8.8.8.8", "x", None]
    names = ctx.name_of(ips).tolist()
    assert names == [
        "FW.core router",
        "VPN.concentrators",
        "DMZ.corp",
        "Proxy.farm",
        "FW.v6 edge",
        "",
        "",
        "",
    ]
    assert ctx.name_of(["8.8.8.8"], default=None).isna().all()


def test_arrow_backed_series_with_several_chunks(context_file):
    """Columns of `table.to_pandas()` (pandas 3 str / ArrowDtype) wrap a chunked array."""
    ctx = NetworkContext.from_csv(context_file)
    table = pa.Table.from_batches(
        [pa.record_batch({"ip": ["10.0.0.1", None]}), pa.record_batch({"ip": ["8.8.8.8"]})]
    )
    for series in (table.to_pandas()["ip"], table.to_pandas(types_mapper=pd.ArrowDtype)["ip"]):
        assert ctx.name_of(series).tolist() == ["FW.core router", "", ""]
        assert parse_ips(series).valid.tolist() == [True, False, True]


def test_matches_a_brute_force_reference(context_file):
    """Vectorized painting + searchsorted agrees with a per-IP loop over the entries."""
    ctx = NetworkContext.from_csv(context_file)
    rng = np.random.default_rng(3)
    base = int(ipaddress.ip_address("9.255.255.0"))
    ips = [str(ipaddress.ip_address(base + int(k))) for k in rng.integers(0, 600, 3000)]
    ips += [str(ipaddress.ip_address("192.0.53.250") + int(k)) for k in range(0, 270, 3)]
    nets = []
    for row in CONTEXT.splitlines()[1:]:
        where, name = row.split(",")
        if "-" in where:
            lo, hi = (ipaddress.ip_address(v) for v in where.split("-"))
        else:
            net = ipaddress.ip_network(where)
            lo, hi = net[0], net[-1]
        nets.append((lo, hi, name))

    def reference(text):
        ip = ipaddress.ip_address(text)
        return next((n for lo, hi, n in nets if lo.version == ip.version and lo <= ip <= hi), "")

    assert ctx.name_of(ips).tolist() == [reference(i) for i in ips]


def test_dns_proxy_format_and_site_columns(tmp_path):
    path = tmp_path / "nc.csv"
    path.write_text("ip,description,lat,lon\n10.192.180.150, NOT IN DNS,41.1,-87.2\n")
    ctx = NetworkContext.from_csv(path)
    parsed = parse_ips(["10.192.180.150", "10.192.180.151"])
    assert ctx.name_of(["10.192.180.150"]).tolist() == ["NOT IN DNS"]
    lat, lon = ctx.site_of(parsed)
    assert lat[0] == 41.1 and lon[0] == -87.2 and np.isnan(lat[1])


def test_missing_file_is_empty_and_bad_line_is_one_clear_error(tmp_path):
    assert len(NetworkContext.from_csv(tmp_path / "absent.csv")) == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("srcIP,name\n10.0.0.0/8,ok\n10.0.0.300,broken\n")
    with pytest.raises(InputError, match=r"'10.0.0.300' is not an IP, CIDR or a-b range"):
        NetworkContext.from_csv(bad)


def test_category_of_follows_spot():
    assert category_of("VPN.concentrators") == "VPN"
    assert category_of("FW.core") == "FW"
    assert category_of("Proxy.farm") == "Proxy"
    assert category_of("DMZ.web") == "DMZ"
    assert category_of("Finance.VPN") == "DMZ"  # only the part before the first dot counts
    assert category_of("") == "DMZ" and category_of(None) == "DMZ"


def test_internal_ranges_file(tmp_path):
    path = tmp_path / "ipranges.csv"
    path.write_text("81.0.0.0,81.0.0.255,office\n\n203.1.0.0,203.1.255.255\n")
    ranges = InternalRanges.from_csv(path)
    parsed = parse_ips(["81.0.0.4", "81.0.1.4", "203.1.9.9", "10.0.0.1", "8.8.8.8", "bad"])
    assert ranges.configured_mask(parsed).tolist() == [True, False, True, False, False, False]
    assert ranges.is_internal(parsed).tolist() == [True, False, True, True, False, False]
    broken = tmp_path / "broken.csv"
    broken.write_text("81.0.0.0\n")
    with pytest.raises(InputError, match=r"broken.csv:1: expected `start_ip,end_ip\[,name\]`"):
        InternalRanges.from_csv(broken)


def test_range_table_overlaps_and_ipv6():
    spans = [(False, 10, 20), (False, 0, 100), (True, 2**100, 2**101), (True, 0, 2**128 - 1)]
    table = RangeTable(spans)
    parsed = parse_ips(
        ["0.0.0.15", "0.0.0.50", "0.0.1.0", "::1", str(ipaddress.IPv6Address(2**100))]
    )
    assert table.lookup(parsed).tolist() == [0, 1, -1, 3, 2]


def test_load_context_rereads_a_changed_file(context_file):
    first = load_context(context_file)
    assert load_context(context_file) is first
    context_file.write_text("srcIP,name\n8.8.8.0/24,DMZ.dns\n")
    import os

    os.utime(context_file, ns=(1, 10**18))
    assert load_context(context_file).name_of(["8.8.8.8"]).tolist() == ["DMZ.dns"]


def test_sql_functions_on_the_lake_engine(empty_lake):
    (empty_lake / "context").mkdir()
    (empty_lake / "context" / "network_context.csv").write_text(CONTEXT)
    (empty_lake / "context" / "ipranges.csv").write_text("81.0.0.0,81.0.0.255\n")
    engine = DuckDBEngine(empty_lake)
    rows = engine.df(
        "SELECT ip, spot_net_context(ip) AS name, spot_net_category(ip) AS cat, "
        "spot_internal(ip) AS internal FROM (VALUES ('10.0.0.7'), ('81.0.0.9'), ('8.8.8.8'), "
        "('bad'), (NULL), ('10.0.0.7')) t(ip)"
    )
    assert rows["name"].fillna("-").tolist() == ["VPN.concentrators", "-", "-", "-", "-",
                                                 "VPN.concentrators"]  # fmt: skip
    assert rows["cat"].fillna("-").tolist() == ["VPN", "-", "-", "-", "-", "VPN"]
    assert rows["internal"].fillna(False).tolist() == [True, True, False, False, False, True]
    relation = engine.df("SELECT network, name, category, ip_version FROM network_context")
    assert relation["name"].tolist()[:2] == ["FW.core router", "VPN.concentrators"]
    assert relation["ip_version"].tolist()[-1] == 6
    # joinable from %%spotquery: group a query result by context name, bound parameter
    grouped = engine.df(
        "SELECT spot_net_context(ip) AS name, count(*) AS n FROM (VALUES ('10.0.0.7'), "
        "('10.0.0.8'), ('10.5.0.1')) t(ip) WHERE spot_internal(ip) = :flag GROUP BY 1 ORDER BY 1",
        {"flag": True},
    )
    assert grouped.values.tolist() == [["DMZ.corp", 1], ["VPN.concentrators", 2]]


def test_engine_opens_with_a_malformed_context_file(empty_lake):
    (empty_lake / "context").mkdir()
    (empty_lake / "context" / "network_context.csv").write_text("srcIP,name\nnot-an-ip,x\n")
    with pytest.warns(UserWarning, match="network_context relation left empty"):
        engine = DuckDBEngine(empty_lake)
    assert engine.df("SELECT count(*) AS n FROM network_context")["n"].iloc[0] == 0
    from spot_lab.errors import QueryError

    with pytest.raises(QueryError, match="is not an IP, CIDR or a-b range"):
        engine.df("SELECT spot_net_context('10.0.0.1') AS n")


def test_geo_sql_function_with_dbip(empty_lake):
    from spot_lab.enrich.geo import dbip_path
    from tests.support import require

    require(dbip_path() is not None, "spot-lab-dbip-city (DB-IP City Lite, spot-lab[geo])")
    engine = DuckDBEngine(empty_lake)
    out = engine.df(
        "SELECT spot_geo(ip).city AS city, spot_geo_country(ip) AS country, "
        "spot_geo(ip).latitude AS lat FROM (VALUES ('8.8.8.8'), ('81.2.69.142'), ('nope')) t(ip)"
    )
    assert out["city"].fillna("-").tolist() == ["Mountain View", "London", "-"]
    assert out["country"].fillna("-").tolist() == ["United States", "United Kingdom", "-"]
    assert pd.isna(out["lat"].iloc[2]) and out["lat"].iloc[0] == pytest.approx(37.42, abs=0.1)
