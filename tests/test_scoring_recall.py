"""Recall@50 of the scorer over the generator's injected scenarios (fixed seed)."""

from __future__ import annotations

from spot_lab.scoring.evaluation import scenario_hits
from tests.conftest import DEMO_DAY


def test_beacon_detector_finds_the_injected_c2(scored_lake_path):
    hits = {h["name"]: h for h in scenario_hits(scored_lake_path, DEMO_DAY, k=50)}
    assert hits["c2_beaconing"]["found"] and hits["c2_beaconing"]["rank"] < 5


def test_recall_at_50_over_injected_scenarios(scored_lake_path):
    hits = scenario_hits(scored_lake_path, DEMO_DAY, k=50)
    assert len(hits) >= 5
    recall = sum(h["found"] for h in hits) / len(hits)
    assert recall >= 0.8, hits
