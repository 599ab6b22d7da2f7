"""The demo data generator: formats of Spot's raw tables, determinism, scenarios, bad input."""

from __future__ import annotations

import csv
import datetime as dt
import ipaddress
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from spot_lab import cli
from spot_lab.demo.generator import generate
from spot_lab.enrich.geo import dbip_path
from spot_lab.errors import InputError, LakeError
from spot_lab.store.lake import DEMO_MARK, Lake
from tests.support import require, snapshot

# DB-IP City Lite, shipped by spot-lab-dbip-city (spot-lab[geo]); the test that needs it
# require()s it.
MMDB = dbip_path() or Path("/missing")


@pytest.fixture(scope="module")
def con(demo_lake_path):
    connection = Lake(demo_lake_path).connect()
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def truth(demo_lake_path) -> dict:
    return json.loads((demo_lake_path / "ground_truth.json").read_text())


def rows(con, sql: str, params: dict | None = None) -> list[tuple]:
    table = con.sql(sql, params)
    return list(zip(*(table.column(i).to_pylist() for i in range(table.num_columns)), strict=True))


def one(con, sql: str, params: dict | None = None):
    return rows(con, sql, params)[0][0]


def partition_files(root: Path) -> dict[str, bytes]:
    """Data of each partition folder (file names are random uuids, contents must not be)."""
    out = {}
    for path in sorted(root.rglob("*.parquet")):
        key = str(path.parent.relative_to(root))
        assert key not in out, f"more than one file in {key}"
        out[key] = path.read_bytes()
    return out


# ---- determinism ----------------------------------------------------------------------------
def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    kwargs = dict(days=2, flows_per_day=3000, progress=False)
    generate(tmp_path / "a", dt.date(2026, 1, 4), seed=5, **kwargs)
    generate(tmp_path / "b", dt.date(2026, 1, 4), seed=5, **kwargs)
    generate(tmp_path / "c", dt.date(2026, 1, 4), seed=6, **kwargs)
    a, b, c = (partition_files(tmp_path / x) for x in "abc")
    assert len(a) == 2 * 3 * 24 + 2 * 3  # hour partitions of 3 types + ingest summaries, 2 days
    assert a == b
    assert (tmp_path / "a/ground_truth.json").read_bytes() == (
        tmp_path / "b/ground_truth.json"
    ).read_bytes()
    assert snapshot(tmp_path / "a" / "context") == snapshot(tmp_path / "b" / "context")
    differing = [k for k in a if a[k] != c.get(k)]
    assert len(differing) > len(a) // 2
    # single-digit days are space padded in DNS frame_time, as tshark writes them
    con = Lake(tmp_path / "a").connect()
    assert one(con, "SELECT min(frame_time) FROM dns WHERE d = 4").startswith("Jan  4 2026 ")


# ---- formats --------------------------------------------------------------------------------
def test_flow_fields_are_consistent(con):
    bad_time = one(
        con,
        """SELECT count(*) FROM flow WHERE
           treceived <> strftime(make_timestamp(unix_tstamp * 1000000), '%Y-%m-%d %H:%M:%S')
           OR tryear <> y OR trmonth <> m OR trday <> d OR trhour <> h
           OR trhour * 3600 + trminute * 60 + trsec <> unix_tstamp % 86400""",
    )
    assert bad_time == 0
    flags = {f for (f,) in rows(con, "SELECT DISTINCT flag FROM flow")}
    assert {".A....", ".AP.SF", "....S."} <= flags
    assert all(re.fullmatch(r"[.U][.A][.P][.R][.S][.F]", f) for f in flags)
    assert one(con, "SELECT count(*) FROM flow WHERE proto <> 'TCP' AND flag <> '......'") == 0
    icmp = rows(con, "SELECT DISTINCT sport, dport FROM flow WHERE proto = 'ICMP'")
    assert icmp and all(s == 0 and d // 256 in (0, 3, 8, 11) for s, d in icmp)
    assert (2048, 0) in {(d, s) for s, d in icmp}  # echo request = type 8 * 256 + code 0
    # bytes are 40-1500 per packet both ways, client source ports ephemeral; durations up to
    # 120 s, except records of long-lived flows, cut at the exporter's active timeout
    assert one(con, "SELECT count(*) FROM flow WHERE ibyt < ipkt * 40 OR ibyt > ipkt * 1500") == 0
    assert one(con, "SELECT count(*) FROM flow WHERE obyt < opkt * 40 OR obyt > opkt * 1500") == 0
    assert one(con, "SELECT count(*) FROM flow WHERE tdur < 0 OR tdur > 1800") == 0  # 30 min
    # (long-lived records exist when the exporter's active timeout, drawn per seed, is over
    # 120 s: test_generator_scenarios checks the long connection's records)
    long_lived = one(con, "SELECT count(*) FILTER (WHERE tdur > 120) / count(*) FROM flow")
    assert long_lived < 0.02
    low = one(
        con,
        "SELECT count(*) FROM flow WHERE sip LIKE '10.%' AND dport IN (80, 443) AND sport < 1024",
    )
    assert low == 0
    # heavy tail: the biggest flows dwarf the median
    median, top = rows(con, "SELECT median(ipkt), max(ipkt) FROM flow")[0]
    assert top > 100 * median
    routers = {r for (r,) in rows(con, "SELECT DISTINCT rip FROM flow")}
    assert 2 <= len(routers) <= 5
    assert one(con, "SELECT count(DISTINCT das) FROM flow WHERE das > 0") >= 15


def test_dns_fields_follow_tshark(con):
    frame_re = re.compile(r"[A-Z][a-z]{2} [ 1-3]\d \d{4} \d{2}:\d{2}:\d{2}\.\d{9} UTC")
    data = rows(con, "SELECT frame_time, unix_tstamp, dns_qry_class, dns_qry_type, dns_a FROM dns")
    for frame_time, stamp, qclass, qtype, answer in data:
        assert frame_re.fullmatch(frame_time), frame_time
        parsed = dt.datetime.strptime(frame_time[:20], "%b %d %Y %H:%M:%S")
        assert int(parsed.replace(tzinfo=dt.timezone.utc).timestamp()) == stamp
        assert qclass == "0x00000001"
        if answer:
            assert qtype == 1
            for ip in answer.split("|"):
                ipaddress.IPv4Address(ip)
    types = Counter(t for *_, t, _a in data)
    assert types[1] > types[28] > 0 and types[12] > 0 and types[16] > 0
    rcodes = Counter(r for (r,) in rows(con, "SELECT dns_qry_rcode FROM dns"))
    assert rcodes[0] > 0.8 * len(data) and rcodes[3] > 0
    assert one(con, "SELECT count(DISTINCT ip_src) FROM dns") <= 3


def test_proxy_fields_and_fulluri_rule(con):
    wrong = one(
        con,
        """SELECT count(*) FROM proxy WHERE fulluri <> host
             || CASE WHEN length(uripath) > 1 THEN uripath ELSE '' END
             || CASE WHEN length(uriquery) > 1 THEN uriquery ELSE '' END""",
    )
    assert wrong == 0
    assert one(con, "SELECT count(*) FROM proxy WHERE fulluri LIKE '%://%'") == 0
    assert (
        one(con, "SELECT count(*) FROM proxy WHERE NOT regexp_matches(respcode, '^\\d{3}$')") == 0
    )
    assert one(con, "SELECT count(*) FROM proxy WHERE p_date <> y || '-' || m || '-' || d") == 0
    assert one(con, "SELECT count(*) FROM proxy WHERE substr(p_time, 1, 2) <> h") == 0
    methods = Counter(m for (m,) in rows(con, "SELECT reqmethod FROM proxy"))
    assert methods["GET"] > 5 * methods["POST"] > 0 and methods["CONNECT"] > 0
    agents = rows(con, "SELECT useragent, count(*) c FROM proxy GROUP BY 1 ORDER BY c DESC")
    assert agents[0][1] > 100 * agents[-1][1]  # popular and rare agents
    assert one(con, "SELECT count(DISTINCT webcat) FROM proxy") >= 8


def test_partitions_are_typed_and_padded_like_spot(demo_lake_path, con):
    for kind in ("flow", "dns", "proxy"):
        folders = {
            p.parent.relative_to(demo_lake_path) for p in (demo_lake_path / kind).rglob("*.parquet")
        }
        raw = [f for f in folders if "/oa/" not in f"/{f}"]
        assert len(raw) == 24
        assert all(re.fullmatch(rf"{kind}/hive/y=2026/m=11/d=28/h=\d\d", str(f)) for f in raw)
    types = rows(con, "SELECT typeof(y), typeof(m), typeof(h) FROM proxy LIMIT 1")[0]
    assert types == ("VARCHAR", "VARCHAR", "VARCHAR")
    assert rows(con, "SELECT DISTINCT m, d FROM proxy") == [("11", "28")]
    assert rows(con, "SELECT typeof(y), typeof(h) FROM flow LIMIT 1")[0] == ("SMALLINT", "TINYINT")


def test_load_follows_the_day(con):
    for kind in ("flow", "dns", "proxy"):
        by_hour = dict(rows(con, f"SELECT CAST(h AS INTEGER), count(*) FROM {kind} GROUP BY 1"))
        night = sum(by_hour.get(h, 0) for h in (2, 3, 4))
        afternoon = sum(by_hour.get(h, 0) for h in (13, 14, 15))
        assert afternoon > 3 * night, kind


def test_ingest_summary_counts_every_record(con):
    for kind in ("flow", "dns", "proxy"):
        total = one(con, f"SELECT count(*) FROM {kind}")
        assert one(con, f"SELECT CAST(sum(total) AS BIGINT) FROM {kind}_ingest_summary") == total
    flow_dates = [t for (t,) in rows(con, "SELECT tdate FROM flow_ingest_summary")]
    assert "2026-11-28 0:0" in flow_dates or "2026-11-28 0:1" in flow_dates  # unpadded
    dns_dates = [t for (t,) in rows(con, "SELECT tdate FROM dns_ingest_summary")]
    assert all(re.fullmatch(r"2026-11-28 \d\d:\d\d", t) for t in dns_dates)
    per_minute = rows(
        con,
        """SELECT strftime(make_timestamp(unix_tstamp * 1000000), '%Y-%m-%d %H:%M') t, count(*)
           FROM dns GROUP BY 1 ORDER BY 1 LIMIT 5""",
    )
    summary = dict(rows(con, "SELECT tdate, total FROM dns_ingest_summary"))
    assert all(summary[t] == c for t, c in per_minute)


def test_generator_writes_no_scores(demo_lake_path):
    derived = {
        p.parent.parent.parent.parent.name for p in demo_lake_path.rglob("oa/*/y=*/m=*/d=*/*")
    }
    assert derived == {"summary"}


# ---- context files and public endpoints -----------------------------------------------------
def _matcher(entries: list[tuple[str, str]]):
    nets = []
    for where, name in entries:
        if "-" in where:
            lo, hi = (int(ipaddress.IPv4Address(x)) for x in where.split("-"))
        else:
            net = ipaddress.ip_network(where)
            lo, hi = int(net.network_address), int(net.broadcast_address)
        nets.append((lo, hi, name))

    def find(ip: str) -> str | None:
        value = int(ipaddress.IPv4Address(ip))
        return next((name for lo, hi, name in nets if lo <= value <= hi), None)

    return find


def all_ips(con) -> set[str]:
    return {
        ip
        for (ip,) in rows(
            con,
            """SELECT sip FROM flow UNION SELECT dip FROM flow UNION SELECT ip_dst FROM dns
               UNION SELECT ip_src FROM dns UNION SELECT clientip FROM proxy
               UNION SELECT serverip FROM proxy UNION SELECT rip FROM flow""",
        )
    }


def test_context_files_cover_the_internal_network(demo_lake_path, con):
    context = demo_lake_path / "context"
    with open(context / "network_context.csv") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["ip", "name"]
        entries = [(row[0], row[1]) for row in reader]
    kinds = {("-" in w and "range") or ("/" in w and "cidr") or "ip" for w, _ in entries}
    assert kinds == {"range", "cidr", "ip"}
    names = " ".join(n for _, n in entries)
    for category in ("VPN", "DMZ", "Proxy", "FW"):
        assert category in names
    with open(context / "ipranges.csv") as fh:
        ranges = [row for row in csv.reader(fh)]
    assert all(len(r) == 3 for r in ranges)  # Spot's format: start,end,name, no header
    in_range = _matcher([(f"{a}-{b}", n) for a, b, n in ranges])
    in_context = _matcher(entries)
    internal = {ip for ip in all_ips(con) if ipaddress.ip_address(ip).is_private}
    assert len(internal) > 100
    assert all(in_range(ip) and in_context(ip) for ip in internal)
    assert in_context("10.0.30.20") == "VPN pool"
    with open(context / "sites.csv") as fh:
        sites = list(csv.DictReader(fh))
    assert {s["name"] for s in sites} == {n for *_, n in ranges}
    assert all(-90 <= float(s["lat"]) <= 90 and -180 <= float(s["lon"]) <= 180 for s in sites)


def test_public_endpoints_geolocate_to_many_countries(con, truth):
    require(MMDB.is_file(), f"the DB-IP City Lite database ({MMDB})")
    import maxminddb

    public = {ip for ip in all_ips(con) if not ipaddress.ip_address(ip).is_private}
    assert len(public) > 500
    assert all(ipaddress.ip_address(ip).is_global for ip in public)
    with maxminddb.open_database(str(MMDB)) as reader:
        countries = Counter(
            ((reader.get(ip) or {}).get("country") or {}).get("iso_code") for ip in public
        )
        actor_countries = {
            ((reader.get(ip) or {}).get("country") or {}).get("iso_code")
            for s in truth["scenarios"]
            for ip in s["anchors"]["ips"]
            if not ipaddress.ip_address(ip).is_private
        }
    countries.pop(None, None)
    assert len(countries) >= 10, countries
    assert sum(countries.values()) > 0.95 * len(public)  # nearly all are placed somewhere
    assert None not in actor_countries


# ---- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, words",
    [
        (["--date", "2026-13-01"], "YYYY-MM-DD"),
        (["--date", "yesterday"], "YYYY-MM-DD"),
        (["--date", "2026-11-28", "--days", "0"], "--days 0 must be greater than zero"),
        (["--date", "2026-11-28", "--flows-per-day", "-5"], "--flows-per-day -5 must be"),
        (["--date", "2026-11-28", "--flows-per-day", "lots"], "'lots' is not a whole number"),
    ],
)
def test_cli_refuses_bad_input_and_writes_nothing(tmp_path, capsys, args, words):
    target = tmp_path / "lake"
    assert cli.main(["generate", "--lake", str(target), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("spot-lab generate: error:") and words in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_cli_never_replaces_a_folder_it_did_not_make(tmp_path, capsys, force):
    target = tmp_path / "lake"
    (target / "flow" / "hive").mkdir(parents=True)
    (target / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    assert cli.main(["generate", "--lake", str(target), "--date", "2026-11-28", *force]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did not write" in err and str(target) in err
    assert snapshot(tmp_path) == before and len(list(tmp_path.iterdir())) == 1


def test_cli_force_replaces_a_demo_lake_it_made(tmp_path, capsys):
    target = tmp_path / "lake"
    args = ["generate", "--lake", str(target), "--date", "2026-11-28", "--flows-per-day", "2000"]
    assert cli.main([*args, "--quiet"]) == 0
    assert (target / DEMO_MARK).is_file()
    assert cli.main([*args, "--quiet"]) == 2  # a demo lake is replaced only when asked
    assert "--force" in capsys.readouterr().err
    assert cli.main([*args, "--seed", "3", "--force", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "flow" in out and "rows/s" in out
    assert json.loads((target / DEMO_MARK).read_text())["seed"] == 3
    assert (target / "ground_truth.json").is_file() and Lake(target).check() > 0
    assert [p.name for p in tmp_path.iterdir()] == ["lake"]  # no staging folder left behind


def test_cli_force_keeps_a_demo_lake_holding_a_users_file(tmp_path, capsys):
    target = tmp_path / "lake"
    generate(target, "2026-11-28", flows_per_day=1500, progress=False)
    (target / "my-notes.md").write_text("mine")
    before = snapshot(tmp_path)
    args = ["generate", "--lake", str(target), "--date", "2026-11-28", "--force", "--quiet"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'my-notes.md'" in err
    assert snapshot(tmp_path) == before


def test_an_empty_existing_folder_is_fine(tmp_path):
    target = tmp_path / "lake"
    target.mkdir()
    summary = generate(target, "2026-11-28", flows_per_day=1500, progress=False)
    assert summary.rows["flow"] >= 1500 and summary.rows["dns"] >= 500
    assert "rows/s" in str(summary) and summary.ground_truth.is_file()


@pytest.mark.parametrize(
    "kwargs",
    [dict(days=0), dict(days=-1), dict(flows_per_day=0), dict(flows_per_day=2.5),
     dict(flows_per_day=True), dict(seed=-3), dict(start="2026-02-30")],
)  # fmt: skip
def test_api_validates_before_writing(tmp_path, kwargs):
    args = {"start": "2026-11-28", "flows_per_day": 1000, "progress": False, **kwargs}
    with pytest.raises(InputError):
        generate(tmp_path / "lake", args.pop("start"), **args)
    assert list(tmp_path.iterdir()) == []


def test_a_file_in_the_way_is_refused(tmp_path):
    target = tmp_path / "lake"
    target.write_text("not a folder")
    with pytest.raises(LakeError, match="is a file"):
        generate(target, "2026-11-28", flows_per_day=1000, progress=False)
