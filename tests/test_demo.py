"""The newcomer's path: the demo notebook is current, and `spot-lab demo --execute` runs it."""

from __future__ import annotations

import nbformat

from spot_lab.cli import main
from spot_lab.demo.command import REPO_NOTEBOOKS, build_notebook
from tests.support import snapshot


def test_committed_notebook_matches_its_sections():
    committed = nbformat.read(REPO_NOTEBOOKS / "demo.ipynb", as_version=4)
    built = build_notebook()
    assert [c.source for c in committed.cells] == [c.source for c in built.cells], (
        "notebooks/demo.ipynb is stale: run `python -m spot_lab.demo.command`"
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


def test_demo_refuses_a_lake_it_did_not_make_and_leaves_it_untouched(tmp_path, capsys, monkeypatch):
    # A user's own lake (SPOT_LAB_LAKE, as the README suggests): a kept file and a partition.
    lake = tmp_path / "my-lake"
    hour = lake / "flow" / "hive" / "y=2026" / "m=11" / "d=27" / "h=00"
    hour.mkdir(parents=True)
    (hour / "part-0.parquet").write_bytes(b"PAR1 my flows PAR1")
    (lake / "keep-me.txt").write_text("mine")
    before = snapshot(tmp_path)
    monkeypatch.setenv("SPOT_LAB_LAKE", str(lake))
    assert main(["demo", "--execute", "--output", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a demo lake" in err and "--lake" in err
    assert snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-lake"]
