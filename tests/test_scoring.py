"""Spot's suspicious-connects scoring on the generated demo lake (real DuckDB, real LDA)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.errors import InputError
from spot_lab.scoring import append_feedback, feedback_path, read_feedback, score_day
from spot_lab.store.lake import Lake
from spot_lab.store.schema import FEEDBACK_COLUMNS, TABLES
from tests.conftest import DEMO_DAY
from tests.support import snapshot

TYPES = ("flow", "dns", "proxy")


@pytest.mark.parametrize("data_type", TYPES)
def test_scores_written_with_schema_columns_ranked_ascending(scored_lake_path, data_type):
    rows = Lake(scored_lake_path).read_partition(f"{data_type}_scores", DEMO_DAY)
    assert rows.column_names == TABLES[f"{data_type}_scores"].column_names
    assert 0 < rows.num_rows <= 3000
    scores = rows["ml_score"].to_pylist()
    assert scores == sorted(scores)
    assert all(0 <= s <= 1 for s in scores)
    if data_type == "flow":
        assert rows["rank"].to_pylist() == list(range(rows.num_rows))


def test_flow_enrichment(scored_lake_path):
    rows = Lake(scored_lake_path).read_partition("flow_scores", DEMO_DAY).to_pandas()
    for side in ("src", "dst"):
        ips, flags = rows[f"{side}ip"], rows[f"{side}ip_internal"]
        assert set(flags) <= {0, 1}
        internal = ips.str.startswith("10.")
        assert internal.any() and (flags[internal] == 1).all()
        external = ~ips.str.match(r"^(10|192\.168|172\.(1[6-9]|2\d|3[01]))\.")
        assert external.any() and (flags[external] == 0).all()
    # public IPs get Spot's "<region>;<city> <owner>" from the bundled DB-IP database
    assert (rows.loc[rows.dstip_internal == 0, "dst_geoloc"].str.contains(";")).any()
    assert (rows.src_rep == "").all()  # no reputation service configured


def test_dns_and_proxy_enrichment(scored_lake_path):
    lake = Lake(scored_lake_path)
    dns = lake.read_partition("dns_scores", DEMO_DAY).to_pandas()
    proxy = lake.read_partition("proxy_scores", DEMO_DAY).to_pandas()
    labels = [
        (dns, "dns_qry_class", "0x00000001", "Internet (IN)"),
        (dns, "dns_qry_type", 1, "A"),
        (dns, "dns_qry_rcode", 0, "NoError"),
        (dns, "dns_qry_rcode", 3, "NXDomain"),
        (proxy, "respcode", 200, "OK"),
        (proxy, "respcode", 404, "Not Found"),
    ]
    for rows, column, code, name in labels:  # each code present, each of its rows labelled
        mine = rows[column] == code
        assert mine.any() and (rows.loc[mine, f"{column}_name"] == name).all(), (column, code)
    assert (dns.hh == dns.frame_time.str.slice(12, 14).astype(int)).all()
    sample = dns[dns.dns_qry_name.str.count(r"\.") >= 1].iloc[0]
    assert sample.dns_qry_name.endswith(sample.tld) and sample.tld.count(".") >= 1
    assert (dns.network_context != "").any()
    assert proxy.word.str.count("_").min() >= 7


def test_threats_written_beside_flow_scores(scored_lake_path):
    threats = Lake(scored_lake_path).read_partition("flow_threats", DEMO_DAY).to_pandas()
    assert len(threats) > 0 and list(threats["rank"]) == sorted(threats["rank"])
    assert sorted(threats["rank"]) == list(range(1, len(threats) + 1))
    severity = threats.sort_values("rank")["severity"].tolist()
    assert severity == sorted(severity, reverse=True)
    assert (threats["detectors"].str.contains('"detector": "beacon"')).any()


def _engine(path):
    return DuckDBEngine(Lake(path))


def test_unknown_type_day_without_data_and_too_few_documents(lake_copy):
    before = snapshot(lake_copy)
    engine = _engine(lake_copy)
    with pytest.raises(InputError, match="unknown type 'ssh'.*flow, dns, proxy"):
        score_day(engine, "ssh", DEMO_DAY, progress=False)
    with pytest.raises(InputError, match=f"no valid dns events on 2026-11-01.*{DEMO_DAY}"):
        score_day(engine, "dns", "2026-11-01", progress=False)
    with pytest.raises(InputError, match="unknown proxy detector.*beacon.*comma-separated"):
        score_day(engine, "proxy", DEMO_DAY, detectors="beacon", progress=False)
    with pytest.raises(InputError, match="--topics 100000 must be <= 1,000"):  # limits.yaml
        score_day(engine, "proxy", DEMO_DAY, topics=100_000, progress=False)
    assert snapshot(lake_copy) == before
    # too few documents for the topics asked: fewer topics, said in a note (no failure)
    few = score_day(engine, "proxy", DEMO_DAY, topics=1_000, write=False, progress=False)
    assert any("for 1000 topics: fitted" in n for n in few.notes) and few.flagged > 0
    assert "note: LDA:" in few.summary()


def test_malformed_or_missing_feedback_names_the_file(lake_copy, tmp_path):
    engine = _engine(lake_copy)
    target = feedback_path(lake_copy, "dns", DEMO_DAY)
    target.parent.mkdir(parents=True)
    target.write_text("sev\tframe_time\n3\tx\n")  # Spot's old tab-separated feedback
    before = snapshot(lake_copy)
    with pytest.raises(InputError, match=f"feedback file {target} has header"):
        score_day(engine, "dns", DEMO_DAY, progress=False)
    assert snapshot(lake_copy) == before
    target.write_text(",".join(FEEDBACK_COLUMNS["dns"]) + "\n3,only,three\n")
    before = snapshot(lake_copy)
    with pytest.raises(InputError, match=f"feedback file {target} line 2 has 3 fields"):
        score_day(engine, "dns", DEMO_DAY, progress=False)
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(InputError, match=f"feedback file {missing} does not exist"):
        score_day(engine, "dns", DEMO_DAY, feedback=missing, progress=False)
    assert snapshot(lake_copy) == before


def test_feedback_file_round_trip(lake_copy):
    row = {c: "1" for c in FEEDBACK_COLUMNS["flow"]}
    row.update(sev=3, tstart="2026-11-28 10:00:00", srcip="10.0.0.1", dstip="8.8.8.8", proto="UDP")
    path = append_feedback(lake_copy, "flow", DEMO_DAY, [row])
    other = dict(row, srcip="10.0.0.2")
    append_feedback(lake_copy, "flow", DEMO_DAY, [dict(row, sev=1), other])
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(FEEDBACK_COLUMNS["flow"])  # header once, commas
    # one row per event: the re-scored event has its new severity, never a second row
    assert len(lines) == 3
    assert read_feedback(path, "flow")["sev"].to_pylist() == ["1", "3"]
    append_feedback(lake_copy, "flow", DEMO_DAY, [other])  # a retried write: no new row
    assert len(path.read_text().splitlines()) == 3
    with pytest.raises(InputError, match="sev"):
        append_feedback(lake_copy, "flow", DEMO_DAY, [dict(row, sev=7)])
    assert len(path.read_text().splitlines()) == 3  # nothing appended on error


def _event_scores(engine, data_type):
    """Every valid event of the day with its score (nothing written)."""
    result = score_day(engine, data_type, DEMO_DAY, limit=10**7, write=False, beacons=False,
                       progress=False)  # fmt: skip
    return result.scores.to_pandas(), result


@pytest.mark.parametrize(
    ("data_type", "key"),
    [("dns", ["ip_dst", "dns_qry_name", "unix_tstamp"]),
     ("proxy", ["clientip", "fulluri", "time"])],  # proxy's feedback reads the day's agents
)  # fmt: skip
def test_low_feedback_raises_the_score_of_matching_events(lake_copy, data_type, key):
    engine = _engine(lake_copy)
    before, _ = _event_scores(engine, data_type)
    top = before.iloc[0]
    named = {"p_date": "tdate", "p_time": "time"}  # proxy_scores' names of the two columns
    row = {c: top[named.get(c, c)] for c in FEEDBACK_COLUMNS[data_type] if c != "sev"}
    append_feedback(lake_copy, data_type, DEMO_DAY, [{"sev": 3, **row}])
    after, result = _event_scores(engine, data_type)
    assert result.feedback_rows == 1
    old = before.set_index(key).ml_score.groupby(level=[0, 1, 2]).min()
    new = after.set_index(key).ml_score.groupby(level=[0, 1, 2]).min()
    event = tuple(top[k] for k in key)
    assert new[event] > 10 * old[event]  # the analyst-Low event is no longer suspicious
    assert new.index.equals(old.index)  # feedback trains, it is never scored


def test_cli_score_prints_summary_and_errors_in_one_line(lake_copy):
    ok = subprocess.run(
        [sys.executable, "-m", "spot_lab", "score", "--type", "proxy", "--date", str(DEMO_DAY),
         "--lake", str(lake_copy), "--limit", "100"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "proxy 2026-11-28: scored" in ok.stdout and "flagged 100 rows" in ok.stdout
    assert Lake(lake_copy).read_partition("proxy_scores", DEMO_DAY).num_rows == 100
    bad = subprocess.run(
        [sys.executable, "-m", "spot_lab", "score", "--type", "ssh", "--date", str(DEMO_DAY),
         "--lake", str(lake_copy)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "unknown type 'ssh'" in bad.stderr


def test_oa_detail_tables_follow_spots_rules(scored_lake_path):
    lake = Lake(scored_lake_path)
    read = lambda name: lake.read_partition(name, DEMO_DAY).to_pandas()  # noqa: E731
    scores, edge, chords = read("flow_scores"), read("flow_edge"), read("flow_chords")
    assert list(edge.columns) == TABLES["flow_edge"].column_names
    first = scores.iloc[0]
    hh, mn = int(first.tstart[11:13]), int(first.tstart[14:16])
    pair = {first.srcip, first.dstip}
    mine = edge[(edge.hh == hh) & (edge.mn == mn) & edge.srcip.isin(pair) & edge.dstip.isin(pair)]
    assert len(mine) >= 1 and (mine.tstart.str.slice(11, 16) == first.tstart[11:16]).all()
    flagged_ips = pd.concat([scores.srcip, scores.dstip]).value_counts()
    assert len(chords) > 0 and (flagged_ips[chords.ip_threat.unique()] > 1).all()
    dns, dendro, dns_edge = read("dns_scores"), read("dns_dendro"), read("dns_edge")
    assert set(dendro.ip_dst) <= set(dns.ip_dst) and dendro.groupby("ip_dst").size().max() <= 250
    assert (dns_edge.dns_qry_rcode_name != "").all() and len(dns_edge) > 0
    proxy, proxy_edge = read("proxy_scores"), read("proxy_edge")
    keys = set(zip(proxy.fulluri, proxy.clientip, strict=True))
    assert len(proxy_edge) > 0
    assert set(zip(proxy_edge.fulluri, proxy_edge.clientip, strict=True)) <= keys
