"""Spot's own worked word examples (reference 5.3 to 5.5), computed through the engine's SQL."""

from __future__ import annotations

import datetime as dt

import pytest

from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.scoring.words import day_words
from spot_lab.store.lake import Lake
from spot_lab.store.schema import TABLES

DAY = dt.date(2016, 10, 3)


def _rows(data_type: str, rows: list[dict]) -> list[dict]:
    """Full rows of a raw table: every schema column, the given values, neutral defaults."""
    out = []
    for given in rows:
        row = {}
        for col in TABLES[data_type].columns:
            row[col.name] = "" if col.hive_type == "STRING" else 0
        row.update(given)
        out.append(row)
    return out


def _lake(tmp_path, data_type: str, rows: list[dict], hour: int = 12) -> DuckDBEngine:
    import pandas as pd

    lake = Lake(tmp_path / "lake", create=True)
    for t in ("flow", "dns", "proxy"):
        (lake.root / t / "hive").mkdir(parents=True, exist_ok=True)
    lake.append(data_type, pd.DataFrame(_rows(data_type, rows)), DAY, hour)
    return DuckDBEngine(lake)


def _flow(sport: int, dport: int, **extra) -> dict:
    return {
        "treceived": "2016-10-03 12:05:06",
        "trhour": 12,
        "trminute": 5,
        "trsec": 6,
        "sip": "10.0.2.1",
        "dip": "172.16.0.9",
        "sport": sport,
        "dport": dport,
        "proto": "UDP",
        "ibyt": 222,
        "ipkt": 3,
        **extra,
    }


@pytest.mark.parametrize(
    ("sport", "dport", "src", "dst"),
    [
        (2132, 23, "23_UDP_12_8_2", "-1_23_UDP_12_8_2"),
        (23, 2132, "-1_23_UDP_12_8_2", "23_UDP_12_8_2"),
        (3333, 4444, "333333_UDP_12_8_2", "333333_UDP_12_8_2"),
        (23, 1024, "111111_UDP_12_8_2", "111111_UDP_12_8_2"),  # 1024 counts as low
        (0, 0, "0_UDP_12_8_2", "0_UDP_12_8_2"),
        (5000, 0, "-1_5000_UDP_12_8_2", "5000_UDP_12_8_2"),
        (0, 5000, "5000_UDP_12_8_2", "-1_5000_UDP_12_8_2"),
    ],
)
def test_flow_words_follow_spots_port_table(tmp_path, sport, dport, src, dst):
    engine = _lake(tmp_path, "flow", [_flow(sport, dport)])
    words = day_words(engine, "flow", DAY).to_pylist()
    assert [(w["src_word"], w["dst_word"]) for w in words] == [(src, dst)]


def test_flow_bins_and_input_filter(tmp_path):
    rows = [
        _flow(2132, 23, ibyt=0, ipkt=0),  # log2(0 + 1) = 0
        _flow(2132, 23, ibyt=255, ipkt=1),  # ceil(log2 256) = 8 exactly, no float drift
        _flow(2132, 23, ibyt=256, ipkt=7),  # 257 -> 9; 8 -> 3
        _flow(2132, 23, trhour=24),  # invalid hour: dropped
        _flow(-1, 23),  # negative port: dropped
    ]
    engine = _lake(tmp_path, "flow", rows)
    words = sorted(w["src_word"] for w in day_words(engine, "flow", DAY).to_pylist())
    assert words == ["23_UDP_12_0_0", "23_UDP_12_8_1", "23_UDP_12_9_3"]


def _dns(name: str, **extra) -> dict:
    return {
        "frame_time": "Oct  3 2016 11:32:06.337519000 UTC",
        "unix_tstamp": 1475494326,
        "frame_len": 213,
        "ip_dst": "10.0.2.7",
        "ip_src": "10.0.0.53",
        "dns_qry_name": name,
        "dns_qry_class": "0x00000001",
        "dns_qry_type": 1,
        "dns_qry_rcode": 0,
        **extra,
    }


def test_dns_word_of_spots_example(tmp_path):
    engine = _lake(tmp_path, "dns", [_dns("abcdefg.apache.com")], hour=11)
    words = day_words(engine, "dns", DAY, user_domain="apache").to_pylist()
    assert [w["word"] for w in words] == ["2_7_11_2_10_1_1_0"]
    # without the user domain, apache is in the bundled popular-domains list: class 1
    words = day_words(engine, "dns", DAY).to_pylist()
    assert [w["word"] for w in words] == ["1_7_11_2_10_1_1_0"]
    engine = _lake(tmp_path / "rare", "dns", [_dns("abcdefg.qzxrare.com")], hour=11)
    assert [w["word"] for w in day_words(engine, "dns", DAY).to_pylist()] == ["0_7_11_2_10_1_1_0"]


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("www.google.com", "1_7_11_1_0_1_1_0"),  # popular domain; entropy("www") = 0
        ("www.bbc.co.uk", "0_7_11_2_7_2_1_0"),  # cc stripped, 'co' is the domain (Spot's rule)
        ("mail.google.com.au", "1_7_11_2_7_2_1_0"),  # cc then generic stripped
        ("com.au", "0_7_11_0_0_1_1_0"),  # nothing left: domain None
        ("4.3.2.1.in-addr.arpa", "0_7_11_0_0_2_1_0"),  # reverse lookups have no domain
        ("localhost", "0_7_11_0_0_0_1_0"),
    ],
)
def test_dns_domain_rule(tmp_path, name, word):
    engine = _lake(tmp_path, "dns", [_dns(name)], hour=11)
    assert [w["word"] for w in day_words(engine, "dns", DAY).to_pylist()] == [word]


def test_dns_nulls_filled_and_invalid_dropped(tmp_path):
    rows = [
        _dns("x.example.org", dns_qry_type=None, dns_qry_rcode=None),
        _dns("(empty)"),
        _dns("y.example.org", ip_dst="-"),
    ]
    engine = _lake(tmp_path, "dns", rows, hour=11)
    words = [w["word"] for w in day_words(engine, "dns", DAY).to_pylist()]
    assert words == ["0_7_11_0_0_1_-1_-1"]


def _proxy(**extra) -> dict:
    return {
        "p_date": "2016-10-03",
        "p_time": "00:57:12",
        "clientip": "10.0.2.9",
        "host": "intel.com",
        "reqmethod": "PUT",
        "useragent": "agent-unique",
        "resconttype": "text/plain",
        "respcode": "202",
        "fulluri": "ab",
        **extra,
    }


def test_proxy_words_of_spots_examples(tmp_path):
    popular = [
        _proxy(
            p_time="01:57:00",
            host="www.google.com",
            fulluri="abc",
            resconttype="image/png",
            useragent="popular",
            clientip=f"10.0.3.{i}",
        )
        for i in range(9)
    ]
    engine = _lake(tmp_path, "proxy", [_proxy(), *popular], hour=0)
    words = day_words(engine, "proxy", DAY, user_domain="intel").to_pylist()
    by_client = {w["clientip"]: w["word"] for w in words}
    assert by_client["10.0.2.9"] == "2_0_PUT_4_text_0_1_202"
    assert by_client["10.0.3.0"] == "1_1_PUT_6_image_3_1_202"
