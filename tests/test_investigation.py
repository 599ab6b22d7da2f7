"""%spot_threat / spot_lab.investigate on the generated demo lake (real DuckDB, real files).

Anchors come from the generator's ground_truth.json; expected numbers are recomputed here
with independent SQL straight over the parquet files, never copied from the code under test.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd
import pytest

from spot_lab.config import SpotLab
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.errors import InputError
from spot_lab.investigation.anchors import classify
from spot_lab.investigation.forecast import forecast
from spot_lab.investigation.search import investigate
from tests.conftest import DEMO_DAY
from tests.support import snapshot


def scenario(lake, name: str) -> dict:
    truth = json.loads((lake / "ground_truth.json").read_text())
    return next(s for s in truth["scenarios"] if s["name"] == name)


def raw(lake, table: str, sql: str, params=None) -> pd.DataFrame:
    """Run SQL over one raw table's parquet files, without spot-lab's views or queries."""
    con = duckdb.connect()
    files = str(lake / table / "hive" / "y=*" / "m=*" / "d=*" / "h=*" / "*.parquet")
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{files}', hive_partitioning=false)")
    return con.execute(sql, params or []).df()


@pytest.fixture(scope="module")
def engine(demo_lake_path):
    eng = DuckDBEngine(demo_lake_path)
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def settings(demo_lake_path):
    return SpotLab(lake=str(demo_lake_path))


def run(anchor, engine, settings, **kw):
    return investigate(anchor, engine=engine, settings=settings, **kw)


# ---- flow ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def c2(demo_lake_path, engine, settings):
    truth = scenario(demo_lake_path, "c2_beaconing")
    return truth, run(truth["anchors"]["ips"][0], engine, settings)


@pytest.fixture(scope="module")
def c2_host(demo_lake_path, engine, settings):
    truth = scenario(demo_lake_path, "c2_beaconing")
    return truth, run(truth["internal_hosts"][0], engine, settings, top=3)


@pytest.fixture(scope="module")
def host_peers(demo_lake_path, c2_host):
    """The c2 host's peers straight from the parquet files: volume, first contact, sides."""
    truth, _ = c2_host
    return raw(
        demo_lake_path,
        "flow",
        "SELECT CASE WHEN sip = $1 THEN dip ELSE sip END AS peer, count(*) AS connections, "
        "CAST(sum(ibyt + obyt) AS BIGINT) AS bytes, min(treceived) AS first_seen, "
        "bool_or(sip = $1) AS out, bool_or(dip = $1) AS inn "
        "FROM t WHERE sip = $1 OR dip = $1 GROUP BY 1",
        [truth["internal_hosts"][0]],
    ).set_index("peer")


def test_flow_peers_equal_direct_sql(demo_lake_path, c2_host, host_peers):
    truth, report = c2_host
    ip = truth["internal_hosts"][0]
    got = report.peers.set_index("peer").sort_index()
    expected = host_peers.sort_index()
    assert list(got.index) == list(expected.index)
    assert got["connections"].tolist() == expected["connections"].tolist()
    assert got["bytes"].tolist() == expected["bytes"].tolist()
    assert got["first_seen"].tolist() == expected["first_seen"].tolist()
    # Spot's expanded search: per (sip, dip, sport, dport, proto), same totals
    details = raw(
        demo_lake_path,
        "flow",
        "SELECT sip, dip, sport, dport, proto, count(*) AS n FROM t "
        "WHERE sip = $1 OR dip = $1 GROUP BY ALL",
        [ip],
    )
    assert len(report.details) == min(len(details), 5000)
    assert report.details["connections"].sum() == details["n"].sum()


def test_direction_split(c2_host, host_peers):
    truth, report = c2_host
    expect = {
        peer: "two-way" if r.out and r.inn else "outbound" if r.out else "inbound"
        for peer, r in host_peers.iterrows()
    }
    assert dict(zip(report.peers["peer"], report.peers["direction"], strict=True)) == expect
    assert len(report.inbound) + len(report.outbound) + len(report.two_way) == len(report.peers)
    assert set(report.outbound["direction"]) <= {"outbound"}
    assert truth["anchors"]["ips"][0] in set(report.outbound["peer"]) | set(report.two_way["peer"])


def test_top_n_per_group(c2_host):
    _, report = c2_host
    for metric, table in (
        ("bytes", report.top_by_bytes),
        ("connections", report.top_by_connections),
    ):
        for direction, group in report.peers.groupby("direction"):
            top = table[table["direction"] == direction]
            assert len(top) == min(3, len(group))
            assert sorted(top[metric], reverse=True) == sorted(group[metric], reverse=True)[:3]


def test_timeline_minute_buckets(demo_lake_path, c2):
    truth, report = c2
    ip = truth["anchors"]["ips"][0]
    host = truth["internal_hosts"][0]
    lane = report.timeline[report.timeline["lane"] == host]
    assert (lane["minute"].dt.second == 0).all()
    assert lane["minute"].is_monotonic_increasing
    expected = raw(
        demo_lake_path,
        "flow",
        "SELECT unix_tstamp // 60 AS mn, count(*) AS n FROM t "
        "WHERE (sip = $1 AND dip = $2) OR (sip = $2 AND dip = $1) GROUP BY 1 ORDER BY 1",
        [ip, host],
    )
    assert len(lane) == len(expected)
    assert lane["connections"].tolist() == expected["n"].tolist()
    minutes = (lane["minute"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta("1min")
    assert minutes.tolist() == expected["mn"].tolist()


def test_flow_five_ws_and_evidence(demo_lake_path, c2):
    truth, report = c2
    host = truth["internal_hosts"][0]
    assert report.patient_zero["ip"] == host
    assert host in report.summary["who"]["patient zero"]
    ev = report.evidence.set_index("item")
    gaps = raw(
        demo_lake_path,
        "flow",
        "SELECT avg(gap) AS mean, stddev_pop(gap) / avg(gap) AS cv FROM (SELECT unix_tstamp - "
        "lag(unix_tstamp) OVER (ORDER BY unix_tstamp) AS gap FROM t WHERE sip = $1 AND dip = $2)",
        [host, truth["anchors"]["ips"][0]],
    ).iloc[0]
    # the rule offers a peer whose intervals vary less than 25% (the C2's jitter is drawn)
    assert ("beacon-like intervals" in ev.index) == (gaps["cv"] < 0.25)
    if gaps["cv"] < 0.25:
        beacon = ev.loc["beacon-like intervals"]
        assert beacon["suspicious"] and beacon["value"] == pytest.approx(gaps["cv"], abs=0.01)
        assert f"every {gaps['mean']:.0f} s" in beacon["detail"]
    port, share = raw(
        demo_lake_path,
        "flow",
        "WITH p AS (SELECT dport, count(*) AS n FROM t WHERE sip = $1 OR dip = $1 GROUP BY 1 "
        "ORDER BY n DESC LIMIT 1) SELECT p.dport, p.n / count(*) AS share FROM t JOIN p "
        "USING (dport) GROUP BY p.dport, p.n",
        [truth["anchors"]["ips"][0]],
    ).iloc[0]
    assert int(port) == truth["parameters"]["dport"]
    # "rare port" when nobody but the anchor uses it (the C2's port is drawn, often 443 or 80)
    rare = ev.loc["rare port" if share >= 0.9 else "port"]
    assert bool(rare["suspicious"]) == (share >= 0.9)
    assert (
        rare["value"] == pytest.approx(share, abs=1e-3) and f"port {int(port)}:" in rare["detail"]
    )
    assert report.hourly["connections"].sum() == report.peers["connections"].sum()
    assert list(report.hourly["hour"]) == list(range(24))
    assert report.daily["day"].tolist() == [DEMO_DAY]
    assert report.forecast.empty  # one day: no forecast
    assert report.summary["when"]["first seen"].startswith(str(DEMO_DAY))
    assert report.where["ip"].tolist()[0] == truth["anchors"]["ips"][0]  # the anchor is external
    assert report.where["country"].notna().any()


# ---- dns -----------------------------------------------------------------------------------
def test_dns_tunnel_by_client_and_by_name(demo_lake_path, engine, settings):
    truth = scenario(demo_lake_path, "dns_tunnelling")
    client, names = truth["anchors"]["ips"][0], truth["anchors"]["query_names"]
    domain = ".".join(names[0].split(".")[-2:])
    by_client = run(client, engine, settings, data_type="dns")
    assert set(names) <= set(by_client.queries["dns_qry_name"])
    counted = raw(demo_lake_path, "dns", "SELECT count(*) AS n FROM t WHERE ip_dst = $1", [client])
    assert by_client.queries["total"].sum() == counted["n"].iloc[0]
    ev = by_client.evidence.set_index("item")
    assert ev.loc["high-entropy names", "suspicious"]
    assert ev.loc["high-entropy names", "value"] >= len(names) * 0.9
    txt = raw(
        demo_lake_path,
        "dns",
        "SELECT avg(CASE WHEN dns_qry_type = 16 THEN 1.0 ELSE 0 END) AS r FROM t WHERE ip_dst = $1",
        [client],
    )["r"].iloc[0]
    assert ev.loc["TXT share", "value"] == pytest.approx(txt, abs=1e-3)

    by_name = run(domain, engine, settings)  # auto: a domain name -> dns
    assert by_name.data_type == "dns" and by_name.kind == "name"
    assert by_name.clients["client"].tolist() == [client]
    assert by_name.queries["total"].sum() == len(names)
    assert by_name.patient_zero["ip"] == client
    assert not by_name.timeline.empty and set(by_name.timeline["lane"]) == {client}


def test_a_tunnel_of_6000_names_is_counted_whole_and_answers_are_no_rare_ports(tmp_path):
    """The name list stops at 5,000; the What and the Why count every response. One-way
    NetFlow's answers from the resolver's port 53 to the client's ports are not its ports."""
    from tests import lakes

    client, resolver = "10.20.0.7", "10.20.0.53"
    names = [f"{i:x}q{i * 7919 % 100000:05d}z.t.tunnel-c2.net" for i in range(6000)]
    dns = [lakes.dns(lakes.START + 5 * i, client, n, qtype=16, server=resolver)
           for i, n in enumerate(names)]  # fmt: skip
    flows = []
    for i in range(300):
        at, port = lakes.START + 5 * i, 33000 + i
        flows.append(lakes.flow(at, client, resolver, 53, 90, sport=port, proto="UDP"))
        flows.append(lakes.flow(at, resolver, client, port, 180, sport=53, proto="UDP"))
    lake = lakes.write(tmp_path / "lake", flow=flows, dns=dns)
    eng, settings = DuckDBEngine(lake.root), SpotLab(lake=str(lake.root))
    by_name = investigate("tunnel-c2.net", engine=eng, settings=settings)
    assert by_name.summary["what"]["responses"] == "6,000"
    assert by_name.summary["what"]["distinct names"] == "6,000"
    ev = by_name.evidence.set_index("item")
    assert ev.loc["distinct names", "value"] == 6000 and ev.loc["TXT share", "value"] == 1.0
    host = investigate(client, engine=eng, settings=settings, data_type="flow")
    ports = host.evidence[host.evidence["item"].str.contains("port")]["detail"].tolist()
    assert ports and all(d.startswith("port 53:") for d in ports), ports


def test_dns_dga_nxdomain_rate(demo_lake_path, engine, settings):
    truth = scenario(demo_lake_path, "dga_nxdomain")
    report = run(truth["anchors"]["ips"][0], engine, settings, data_type="dns")
    rate = report.evidence.set_index("item").loc["NXDOMAIN rate"]
    expected = raw(
        demo_lake_path,
        "dns",
        "SELECT avg(CASE WHEN dns_qry_rcode = 3 THEN 1.0 ELSE 0 END) AS r FROM t WHERE ip_dst = $1"
        " AND NOT (dns_qry_type = 12 OR lower(dns_qry_name) LIKE '%.in-addr.arpa'"
        " OR lower(dns_qry_name) LIKE '%.ip6.arpa')",
        [truth["anchors"]["ips"][0]],
    )["r"].iloc[0]
    assert rate["suspicious"] and rate["value"] == pytest.approx(expected, abs=1e-3)


# ---- proxy ---------------------------------------------------------------------------------
def test_proxy_phishing_uri(demo_lake_path, engine, settings):
    truth = scenario(demo_lake_path, "phishing")
    uri, post_uri, payload = truth["anchors"]["uris"]
    report = run(uri, engine, settings)
    assert report.data_type == "proxy" and report.kind == "uri"
    assert sorted(report.clients["client"]) == sorted(truth["internal_hosts"])
    assert report.patient_zero["ip"] == truth["patient_zero"]
    assert {post_uri, payload} <= set(report.referred["fulluri"])
    webmail = truth["description"].split(" follow a ")[1].split(" link ")[0]  # the drawn webmail
    assert report.referers["referer"].str.startswith(f"https://{webmail}/").all()
    refs = {uri, f"http://{uri}", f"https://{uri}"}
    assert ((report.requests["fulluri"] == uri) | report.requests["referer"].isin(refs)).all()
    assert report.methods["reqmethod"].tolist() == ["GET"]
    ev = report.evidence.set_index("item")
    assert (
        ev.loc["led to downloads", "suspicious"] and payload in ev.loc["led to downloads", "detail"]
    )
    assert ev.loc["rare host", "value"] == len(truth["internal_hosts"])


def test_proxy_client_post_volume(demo_lake_path, engine, settings):
    truth = scenario(demo_lake_path, "data_exfiltration_http")
    client = truth["internal_hosts"][0]
    report = run(client, engine, settings, data_type="proxy")
    posts = raw(
        demo_lake_path,
        "proxy",
        "SELECT count(*) AS n FROM t WHERE clientip = $1 AND reqmethod = 'POST'",
        [client],
    )["n"].iloc[0]
    ev = report.evidence.set_index("item")
    assert ev.loc["POST volume", "value"] == posts and ev.loc["POST volume", "suspicious"]
    assert ev.loc["upload/download byte ratio", "suspicious"]
    whole = raw(demo_lake_path, "proxy", "SELECT count(*) AS n, count(DISTINCT fulluri) AS u "
                "FROM t WHERE clientip = $1", [client]).iloc[0]  # fmt: skip
    what = report.summary["what"]
    assert (what["requests"], what["URIs"]) == (f"{whole['n']:,}", f"{whole['u']:,}")


# ---- multi-day range and forecast ------------------------------------------------------------
def test_multi_day_range_with_forecast(tmp_path):
    from spot_lab.demo.generator import generate

    lake = tmp_path / "three"
    first = dt.date(2026, 11, 20)
    generate(lake, first, days=3, flows_per_day=3000, seed=5, progress=False)
    truth = json.loads((lake / "ground_truth.json").read_text())
    c2 = next(s for s in truth["scenarios"] if s["name"] == "c2_beaconing")
    ip = c2["anchors"]["ips"][0]
    eng = DuckDBEngine(lake)
    report = investigate(
        ip,
        engine=eng,
        settings=SpotLab(lake=str(lake)),
        date_range=(first, first + dt.timedelta(2)),
    )
    per_day = raw(
        lake, "flow", "SELECT tryear, trmonth, trday, count(*) AS n FROM t WHERE sip = $1 OR dip = $1 "
        "GROUP BY ALL ORDER BY ALL", [ip],
    )  # fmt: skip
    assert report.daily["day"].tolist() == [first + dt.timedelta(i) for i in range(3)]
    assert report.daily["connections"].tolist() == per_day["n"].tolist()
    assert len(report.forecast) == 3
    assert report.forecast["day"].iloc[0] == first + dt.timedelta(3)
    assert "Holt" in report.forecast_method and "forecast" in report.summary["when"]
    # one day of the range only
    single = investigate(ip, engine=eng, settings=SpotLab(lake=str(lake)), date_range=str(first))
    assert single.daily["connections"].tolist() == per_day["n"].tolist()[:1]
    eng.close()


def test_forecast_follows_a_linear_trend():
    days = [dt.date(2026, 1, 1) + dt.timedelta(i) for i in range(6)]
    frame = pd.DataFrame({"day": days, "connections": [10, 20, 30, 40, 50, 60]})
    out, method = forecast(frame, "connections")
    assert out["connections"].tolist() == pytest.approx([70, 80, 90], abs=1.0)
    assert "Holt" in method


# ---- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "anchor, kind, words",
    [
        ("10.0.0.300", "auto", "malformed IP"),
        ("", "auto", "empty anchor"),
        ("   ", "auto", "empty anchor"),
        ("10.0.0.1' OR '1'='1", "auto", "not an IP"),
        ("x; DROP TABLE flow; --", "auto", "not an IP"),
        ("10.0.0.1", "netflow", "unknown type"),
        ("evil.example", "flow", "flow investigations take an IP"),
        ("host.example/path", "dns", "dns investigations take"),
    ],
)
def test_bad_anchor_is_a_one_line_input_error(anchor, kind, words):
    with pytest.raises(InputError) as info:
        classify(anchor, kind)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_auto_type_inference():
    assert classify("10.0.0.5").data_type == "flow"
    assert classify("Evil.Example.").value == "evil.example"
    assert classify("https://evil.example/a?b=1").value == "evil.example/a?b=1"
    assert classify("https://evil.example/a?b=1").data_type == "proxy"
    assert classify("10.0.0.5", "dns").kind == "ip"


def test_sql_metacharacters_are_bound_harmlessly(lake_copy):
    before = snapshot(lake_copy)
    eng = DuckDBEngine(lake_copy)
    settings = SpotLab(lake=str(lake_copy))
    anchor = "evil.example/x';DROP/**/TABLE/**/proxy;--"
    report = investigate(anchor, engine=eng, settings=settings)
    assert report.empty and "no proxy requests" in report.message
    assert eng.df("SELECT count(*) AS n FROM proxy")["n"].iloc[0] > 0
    eng.close()
    assert snapshot(lake_copy) == before


def test_range_without_data_lists_existing_dates(engine, settings):
    with pytest.raises(InputError) as info:
        investigate("10.0.0.5", engine=engine, settings=settings, date_range="2020-01-01")
    assert "no flow data on 2020-01-01" in str(info.value)
    assert str(DEMO_DAY) in str(info.value)
    with pytest.raises(InputError, match="swap them"):
        investigate(
            "10.0.0.5", engine=engine, settings=settings, date_range=("2026-12-02", "2026-12-01")
        )
    with pytest.raises(InputError, match="whole number"):
        investigate("10.0.0.5", engine=engine, settings=settings, top=0)


def test_anchor_without_connections_gives_a_report_that_says_so(engine, settings):
    report = investigate("192.0.2.77", engine=engine, settings=settings)
    assert report.empty
    assert report.message == f"no flow connections of 192.0.2.77 on {DEMO_DAY}"
    assert report.message in report._repr_html_()
    assert report.peers.empty and report.timeline.empty
    assert report.summary["what"]["result"] == report.message
