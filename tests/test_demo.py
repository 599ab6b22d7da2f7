"""The newcomer's path: the demo notebook is current, and `spot-lab demo --execute` runs it."""

from __future__ import annotations

import nbformat

from spot_lab.cli import main
from spot_lab.demo import REPO_NOTEBOOKS, build_notebook


def test_committed_notebook_matches_its_sections():
    committed = nbformat.read(REPO_NOTEBOOKS / "demo.ipynb", as_version=4)
    built = build_notebook()
    assert [c.source for c in committed.cells] == [c.source for c in built.cells], (
        "notebooks/demo.ipynb is stale: run `python -m spot_lab.demo`"
    )


def test_demo_execute_generates_scores_and_runs_the_notebook(tmp_path, capsys):
    lake = tmp_path / "lake"
    report = tmp_path / "demo.html"
    status = main(
        [
            "demo",
            "--execute",
            "--lake",
            str(lake),
            "--output",
            str(report),
            "--flows-per-day",
            "20000",
        ]
    )
    assert status == 0
    assert (lake / "ground_truth.json").is_file()
    assert list((lake / "flow" / "hive" / "oa" / "suspicious").rglob("*.parquet"))
    html = report.read_text()
    assert "spot-lab demo" in html
    executed = html.count("jp-OutputArea-output")
    assert executed > 0
    assert "Traceback" not in html
    # the %spot_threat reports show as static HTML (widgets cannot run in a saved report)
    assert html.count("spot-report") >= 2
