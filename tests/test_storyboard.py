"""Storyboards saved into Spot's tables on a private copy of the demo lake (real files)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from spot_lab.config import SpotLab
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.errors import InputError
from spot_lab.investigation.search import investigate
from spot_lab.investigation.storyboard import load_storyboard, save_storyboard
from spot_lab.store.lake import Lake
from tests.conftest import DEMO_DAY
from tests.support import snapshot


def scenario(lake, name: str) -> dict:
    truth = json.loads((lake / "ground_truth.json").read_text())
    return next(s for s in truth["scenarios"] if s["name"] == name)


@pytest.fixture()
def lake_engine(lake_copy):
    eng = DuckDBEngine(lake_copy)
    yield lake_copy, eng, SpotLab(lake=str(lake_copy))
    eng.close()


def rows(lake, table: str):
    return Lake(lake).read_partition(table, DEMO_DAY).to_pandas()


def test_flow_storyboard_round_trip(lake_engine):
    lake, eng, settings = lake_engine
    truth = scenario(lake, "c2_beaconing")
    ip = truth["anchors"]["ips"][0]
    report = investigate(ip, engine=eng, settings=settings)
    assert report.storyboard_title == ""
    save_storyboard(lake, "flow", DEMO_DAY, "10.9.9.9", "other threat", "keep me")
    report.save_storyboard("C2 beaconing", "Beacons every 60 s.\nBlock 995/TCP.")
    assert load_storyboard(eng, "flow", DEMO_DAY, ip) == (
        "C2 beaconing",
        "Beacons every 60 s.\nBlock 995/TCP.",
    )
    timeline = rows(lake, "flow_timeline")
    mine = timeline[timeline["ip_threat"] == ip]
    assert len(mine) > 0
    assert set(mine["srcip"]) | set(mine["dstip"]) == {ip, *truth["internal_hosts"]}
    # investigating again shows the saved text; saving again replaces it (upsert by anchor)
    again = investigate(ip, engine=eng, settings=settings)
    assert again.storyboard_title == "C2 beaconing"
    assert "Block 995/TCP" in again._repr_html_()
    again.save_storyboard("C2 confirmed", "Host isolated.")
    board = rows(lake, "flow_storyboard")
    assert sorted(board["ip_threat"]) == sorted([ip, "10.9.9.9"])
    assert board.set_index("ip_threat").loc[ip, "title"] == "C2 confirmed"
    assert len(rows(lake, "flow_timeline").query("ip_threat == @ip")) == len(mine)
    assert investigate(ip, engine=eng, settings=settings).storyboard_text == "Host isolated."


def test_dns_storyboard_uses_the_right_column_and_writes_dendro(lake_engine):
    lake, eng, settings = lake_engine
    truth = scenario(lake, "dns_tunnelling")
    domain = ".".join(truth["anchors"]["query_names"][0].split(".")[-2:])
    client = truth["anchors"]["ips"][0]
    by_name = investigate(domain, engine=eng, settings=settings)
    by_name.save_storyboard("Tunnel", "TXT tunnel")
    by_client = investigate(client, engine=eng, settings=settings, data_type="dns")
    by_client.save_storyboard("Tunnel client", "the host")
    board = rows(lake, "dns_storyboard").set_index("title")
    assert board.loc["Tunnel", "dns_threat"] == domain and board.loc["Tunnel", "ip_threat"] == ""
    assert board.loc["Tunnel client", "ip_threat"] == client
    dendro = rows(lake, "dns_threat_dendro")
    named = dendro[dendro["anchor"] == domain]
    assert named["ip_dst"].tolist() == [client]
    assert named["total"].tolist() == [len(truth["anchors"]["query_names"])]
    assert len(dendro[dendro["anchor"] == client]) == 20  # Spot's top 20 names
    assert investigate(domain, engine=eng, settings=settings).storyboard_title == "Tunnel"


def test_proxy_storyboard_writes_timeline(lake_engine):
    lake, eng, settings = lake_engine
    truth = scenario(lake, "phishing")
    uri = truth["anchors"]["uris"][0]
    report = investigate(uri, engine=eng, settings=settings)
    report.save_storyboard("Phishing", "Credential page")
    timeline = rows(lake, "proxy_timeline")
    assert sorted(timeline["clientip"]) == sorted(truth["internal_hosts"])
    assert set(timeline["p_threat"]) == {uri}
    assert set(timeline["respcodename"]) == {"OK"}
    assert rows(lake, "proxy_storyboard")["p_threat"].tolist() == [uri]


def test_bad_storyboard_input_changes_nothing(lake_engine):
    lake, eng, _ = lake_engine
    before = snapshot(lake)
    with pytest.raises(InputError, match="title"):
        save_storyboard(lake, "flow", DEMO_DAY, "10.0.0.1", "  ", "text")
    with pytest.raises(InputError, match="unknown data type"):
        save_storyboard(lake, "netflow", DEMO_DAY, "10.0.0.1", "t", "text")
    with pytest.raises(InputError, match="bad date"):
        save_storyboard(lake, "flow", "28/11/2026", "10.0.0.1", "t", "text")
    with pytest.raises(InputError, match="empty anchor"):
        save_storyboard(eng, "flow", DEMO_DAY, "", "t", "text")
    assert snapshot(lake) == before


def test_spot_escaped_newlines_are_read_back(lake_engine):
    lake, eng, _ = lake_engine
    save_storyboard(lake, "proxy", DEMO_DAY, "a.example/x", "t", "line 1\\nline 2")
    assert load_storyboard(eng, "proxy", DEMO_DAY, "a.example/x") == ("t", "line 1\nline 2")
    files = list((lake / "proxy" / "hive" / "oa" / "storyboard").rglob("*.parquet"))
    assert len(files) == 1 and pq.read_table(files[0]).num_rows == 1
