"""RITA-style beacon detection in SQL over a day of flows."""

from __future__ import annotations

import datetime as dt
import json
import random

import pandas as pd

from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.scoring.beacons import beacon_scores
from spot_lab.store.lake import Lake
from spot_lab.store.schema import TABLES
from tests.conftest import DEMO_DAY

DAY = dt.date(2026, 3, 2)


def _flow(ts: int, sip: str, dip: str, dport: int, ibyt: int) -> dict:
    t = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    row = {c.name: ("" if c.hive_type == "STRING" else 0) for c in TABLES["flow"].columns}
    row.update(treceived=t.strftime("%Y-%m-%d %H:%M:%S"), unix_tstamp=ts, tryear=t.year,
               trmonth=t.month, trday=t.day, trhour=t.hour, trminute=t.minute, trsec=t.second,
               sip=sip, dip=dip, sport=50000, dport=dport, proto="TCP", ipkt=4, ibyt=ibyt)  # fmt: skip
    return row


def test_regular_pair_scores_high_random_pair_low(tmp_path):
    rng = random.Random(3)
    start = int(dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc).timestamp())
    rows = [_flow(start + 300 * i + rng.randint(-2, 2), "10.0.0.5", "203.0.113.9", 443, 620)
            for i in range(288)]  # every 5 min all day, same size  # fmt: skip
    rows += [_flow(start + rng.randint(0, 86_399), "10.0.0.6", "198.51.100.7", 443,
                   rng.randint(500, 900_000)) for _ in range(40)]  # fmt: skip
    rows += [_flow(start + 60 * i, "10.0.0.7", "198.51.100.8", 80, 700) for i in range(3)]
    lake = Lake(tmp_path / "lake", create=True)
    frame = pd.DataFrame(rows)
    for hour, part in frame.groupby("trhour"):
        lake.append("flow", part, DAY, int(hour))
    out = beacon_scores(DuckDBEngine(lake), DAY).to_pandas().set_index("srcip")
    assert list(out.index) == ["10.0.0.5", "10.0.0.6"]  # 3 connections: below the minimum
    regular, noisy = out.loc["10.0.0.5"], out.loc["10.0.0.6"]
    assert regular.ts_score > 0.9 and regular.ds_score > 0.9 and regular.hist_score == 1.0
    assert regular.dur_score > 0.99 and abs(regular.mean_interval - 300) < 2
    assert regular.score > 0.9
    assert noisy.ts_score < regular.ts_score and noisy.ds_score < 0.5
    assert noisy.score < 0.7
    assert regular.connections == 288


def test_injected_c2_pair_scores_high_on_the_demo_day(demo_lake_path):
    """The demo's C2 (its sleep and jitter drawn per seed) is a strong beacon candidate, but
    so are the benign look-alikes (NTP, monitoring polls): the beacon score alone cannot tell
    them apart, which is why the triage list combines it with rarity and history."""
    scenarios = json.loads((demo_lake_path / "ground_truth.json").read_text())["scenarios"]
    c2 = next(s for s in scenarios if s["name"] == "c2_beaconing")
    ntp = next(s for s in scenarios if s["name"] == "ntp_sync")
    out = beacon_scores(DuckDBEngine(Lake(demo_lake_path)), DEMO_DAY).to_pandas()
    mine = out[out.dstip.isin(c2["anchors"]["ips"]) & out.srcip.isin(c2["internal_hosts"])]
    assert len(mine) == 1
    score = mine.iloc[0].score
    assert score > 0.6 and score > out.score.quantile(0.7)
    assert (
        abs(mine.iloc[0].mean_interval - c2["parameters"]["sleep_s"])
        < 0.5 * c2["parameters"]["sleep_s"]
    )
    ntp_pairs = out[out.dstip.isin(ntp["anchors"]["ips"])]
    assert len(ntp_pairs) and ntp_pairs.score.max() > 0.9  # benign, and as regular as it gets
    # a random pair that is neither an injected scenario nor a look-alike scores low
    anchors = {ip for s in scenarios for ip in s["anchors"]["ips"] + s["internal_hosts"]}
    others = out[~out.dstip.isin(anchors) & ~out.srcip.isin(anchors)]
    pick = others.sample(1, random_state=1).iloc[0]
    assert pick.score < score - 0.1
