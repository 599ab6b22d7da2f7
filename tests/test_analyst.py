"""Analyst scores: Spot's rows, upsert, feedback, refusal of bad input, concurrent writers."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from spot_lab.engines.base import Engine
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.errors import InputError
from spot_lab.investigation import analyst
from spot_lab.server import threats
from spot_lab.store.lake import Lake
from spot_lab.store.schema import FEEDBACK_COLUMNS, TABLES
from tests.conftest import DEMO_DAY
from tests.flagged_rows import write_flagged
from tests.support import snapshot

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture()
def flagged(lake_copy) -> Path:
    write_flagged(lake_copy, DEMO_DAY, limit=200)
    return lake_copy


def _scores(root: Path, data_type: str):
    return Lake(root).read_partition(f"{data_type}_scores", DEMO_DAY).to_pandas()


def _investigation(root: Path, data_type: str):
    return Lake(root).read_partition(f"{data_type}_threat_investigation", DEMO_DAY).to_pandas()


def _feedback(root: Path, data_type: str) -> list[list[str]]:
    path = root / data_type / "scored_results" / "20261128" / "feedback" / "ml_feedback.csv"
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_flow_score_writes_spot_rows_for_every_flow_of_the_ip(flagged):
    scores = _scores(flagged, "flow")
    ip = (
        scores["dstip"].iloc[0]
        if scores["dstip_internal"].iloc[0] == 0
        else scores["srcip"].iloc[0]
    )
    expected = scores[(scores.srcip == ip) | (scores.dstip == ip)]

    written = analyst.record_score(flagged, "flow", DEMO_DAY, ip, 1)

    assert written == len(expected) > 0
    rows = _investigation(flagged, "flow")
    assert list(rows.columns) == TABLES["flow_threat_investigation"].column_names
    assert set(rows["score"]) == {1}
    got = set(rows[["tstart", "srcip", "dstip", "srcport", "dstport"]].itertuples(index=False))
    want = set(expected[["tstart", "srcip", "dstip", "sport", "dport"]].itertuples(index=False))
    assert got == want
    feedback = _feedback(flagged, "flow")
    assert tuple(feedback[0]) == FEEDBACK_COLUMNS["flow"]
    assert len(feedback) == 1 + written
    assert all(r[0] == "1" and ip in (r[2], r[3]) for r in feedback[1:])


def test_rescoring_replaces_the_earlier_score(flagged):
    ip = _scores(flagged, "flow")["srcip"].iloc[0]
    first = analyst.record_score(flagged, "flow", DEMO_DAY, ip, 1)
    again = analyst.record_score(flagged, "flow", DEMO_DAY, ip, 3)
    rows = _investigation(flagged, "flow")
    assert first == again == len(rows)
    assert set(rows["score"]) == {3}
    assert analyst.severity_of(flagged, "flow", DEMO_DAY, ip) == 3
    # the model sees the latest score of each event, once: an earlier Low must not keep
    # training the model (x DUPFACTOR) after the analyst changed it to High, and a second
    # click on the same button must not double its weight
    feedback = _feedback(flagged, "flow")
    assert len(feedback) == 1 + again and {r[0] for r in feedback[1:]} == {"3"}


def test_dns_query_and_client_scores_both_kept_on_a_row(flagged):
    scores = _scores(flagged, "dns")
    name, client = scores["dns_qry_name"].iloc[0], scores["ip_dst"].iloc[0]
    analyst.record_score(flagged, "dns", DEMO_DAY, name, 1)
    analyst.record_score(flagged, "dns", DEMO_DAY, client, 3)
    rows = _investigation(flagged, "dns")
    both = rows[(rows.dns_qry_name == name) & (rows.ip_dst == client)]
    assert len(both) >= 1
    assert set(both["dns_sev"]) == {1} and set(both["ip_sev"]) == {3}
    only_name = rows[(rows.dns_qry_name == name) & (rows.ip_dst != client)]
    assert set(only_name["ip_sev"]) <= {0} and set(only_name["dns_sev"]) <= {1}
    assert not rows.duplicated(["unix_tstamp", "ip_dst", "dns_qry_name"]).any()
    assert analyst.severity_of(flagged, "dns", DEMO_DAY, name) == 1
    assert analyst.severity_of(flagged, "dns", DEMO_DAY, client) == 3


def test_proxy_score_is_one_row_per_uri_and_day(flagged):
    uri = _scores(flagged, "proxy")["fulluri"].iloc[0]
    analyst.record_score(flagged, "proxy", DEMO_DAY, uri, 2)
    analyst.record_score(flagged, "proxy", DEMO_DAY, uri, 2)
    rows = _investigation(flagged, "proxy")
    assert rows.to_dict("records") == [{"tdate": "2026-11-28", "fulluri": uri, "uri_sev": 2}]
    feedback = _feedback(flagged, "proxy")
    assert tuple(feedback[0]) == FEEDBACK_COLUMNS["proxy"]
    assert all(r[-1] == uri for r in feedback[1:])


@pytest.mark.parametrize("severity", [0, 4, -1, "High", "", None, True, 1.5])
def test_bad_severity_writes_nothing(flagged, severity):
    ip = _scores(flagged, "flow")["srcip"].iloc[0]
    before = snapshot(flagged)
    with pytest.raises(InputError, match="1 \\(High\\), 2 \\(Medium\\) or 3 \\(Low\\)"):
        analyst.record_score(flagged, "flow", DEMO_DAY, ip, severity)
    assert snapshot(flagged) == before


@pytest.mark.parametrize(
    "data_type, anchor",
    [
        ("flow", "203.0.113.250"),
        ("flow", "' OR 1=1 --"),
        ("dns", "x'); DROP TABLE dns_scores; --"),
        ("proxy", "%"),
        ("proxy", "' OR fulluri LIKE '%"),
    ],
)
def test_unknown_or_hostile_anchor_writes_nothing(flagged, data_type, anchor):
    before = snapshot(flagged)
    with pytest.raises(InputError, match="no flagged"):
        analyst.record_score(flagged, data_type, DEMO_DAY, anchor, 1)
    assert snapshot(flagged) == before
    assert len(_scores(flagged, data_type)) == 200  # the table is intact


def test_bad_type_date_and_empty_anchor_are_refused(flagged):
    before = snapshot(flagged)
    with pytest.raises(InputError, match="unknown data type"):
        analyst.record_score(flagged, "netflow", DEMO_DAY, "1.2.3.4", 1)
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        analyst.record_score(flagged, "flow", "28/11/2026", "1.2.3.4", 1)
    with pytest.raises(InputError, match="missing anchor"):
        analyst.record_score(flagged, "flow", DEMO_DAY, "  ", 1)
    with pytest.raises(InputError, match="no flagged"):  # a day without flagged rows
        analyst.record_score(flagged, "flow", DEMO_DAY + dt.timedelta(days=1), "1.2.3.4", 1)
    assert snapshot(flagged) == before


def test_threats_list_joins_scores_of_that_date_only(flagged):
    """Spot joined analyst scores on any day (reference 1.7); the list must not."""
    engine = DuckDBEngine(flagged)
    first = threats.threats_page(engine, "flow", DEMO_DAY, page_size=5)["rows"][0]
    other_day = DEMO_DAY - dt.timedelta(days=1)
    scores = _scores(flagged, "flow")
    Lake(flagged).append_rows(
        "flow_threat_investigation",
        scores.rename(columns={"sport": "srcport", "dport": "dstport"}).assign(score=1),
        other_day,
    )
    page = threats.threats_page(engine, "flow", DEMO_DAY, page_size=5)
    assert page["scored"] == 0 and all(r["severity"] is None for r in page["rows"])
    analyst.record_score(engine, "flow", DEMO_DAY, first["anchor"], 2)
    page = threats.threats_page(engine, "flow", DEMO_DAY, page_size=5)
    assert page["rows"][0]["severity"] == 2
    assert page["scored"] == len(_investigation(flagged, "flow")) > 0


_WRITER = textwrap.dedent(
    """
    import sys
    from spot_lab.investigation import analyst
    root, day, *anchors = sys.argv[1:]
    for anchor in anchors:
        analyst.record_score(root, "proxy", day, anchor, 1)
    """
)


def test_concurrent_writers_in_two_processes_keep_every_score(flagged):
    uris = list(dict.fromkeys(_scores(flagged, "proxy")["fulluri"]))[:24]
    halves = uris[0::2], uris[1::2]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(flagged), DEMO_DAY.isoformat(), *half],
            cwd=REPO,
        )
        for half in halves
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    rows = _investigation(flagged, "proxy")
    assert sorted(rows["fulluri"]) == sorted(uris)
    assert len(_feedback(flagged, "proxy")) - 1 == sum(
        (_scores(flagged, "proxy")["fulluri"] == u).sum() for u in uris
    )


def test_cluster_engines_are_refused_for_writes():
    class Fake(Engine):
        kind = "hive"

        def _execute(self, sql, values):  # pragma: no cover - never reached
            raise AssertionError

    with pytest.raises(InputError, match="read-only"):
        analyst.record_score(Fake("hive://h:10000"), "flow", DEMO_DAY, "1.2.3.4", 1)


@pytest.mark.parametrize("data_type", ["flow", "dns", "proxy"])
def test_a_threat_only_the_detectors_found_takes_a_verdict(scored_lake_copy, data_type):
    """A triage threat with no event Spot's model flagged still gets the analyst's verdict
    (in Spot's columns) and the list shows it; no feedback row, no event to learn from."""
    lake = Lake(scored_lake_copy)
    engine = DuckDBEngine(lake)
    try:
        flagged = lake.read_partition(f"{data_type}_scores", DEMO_DAY).to_pandas()
        seen = set(flagged.get("srcip", [])) | set(flagged.get("dstip", [])) | set(
            flagged.get("ip_dst", [])) | set(flagged.get("dns_qry_name", [])) | set(
            flagged.get("fulluri", []))  # fmt: skip
        rows = threats.threats_page(engine, data_type, DEMO_DAY, page_size=500)["rows"]
        anchor = next(r["anchor"] for r in rows if r["anchor"] not in seen)
        fb = lake.root / "feedback"
        before = snapshot(fb) if fb.exists() else {}
        assert analyst.record_score(lake, data_type, DEMO_DAY, anchor, 1) >= 1
        assert analyst.severity_of(lake, data_type, DEMO_DAY, anchor) == 1
        shown = threats.threats_page(engine, data_type, DEMO_DAY, q=anchor)["rows"]
        assert any(r["anchor"] == anchor and r["severity"] == 1 for r in shown)
        assert (snapshot(fb) if fb.exists() else {}) == before
        with pytest.raises(InputError, match="no flagged"):
            analyst.record_score(lake, data_type, DEMO_DAY, "203.0.113.254", 1)
    finally:
        engine.close()
