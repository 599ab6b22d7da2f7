"""ThreatReport displays and exports: plain HTML, widgets, self-contained HTML, PDF (Chromium)."""

from __future__ import annotations

import json
import re

import pytest

from spot_lab.config import SpotLab
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.errors import SpotLabError
from spot_lab.investigation.search import investigate
from tests.support import chromium_path, require


@pytest.fixture(scope="module")
def reports(demo_lake_path):
    truth = json.loads((demo_lake_path / "ground_truth.json").read_text())["scenarios"]
    by = {s["name"]: s for s in truth}
    eng = DuckDBEngine(demo_lake_path)
    settings = SpotLab(lake=str(demo_lake_path))
    out = {
        "flow": investigate(by["c2_beaconing"]["anchors"]["ips"][0], engine=eng, settings=settings),
        "dns": investigate(
            by["dga_nxdomain"]["anchors"]["ips"][0], engine=eng, settings=settings, data_type="dns"
        ),
        "proxy": investigate(by["phishing"]["anchors"]["uris"][0], engine=eng, settings=settings),
    }
    yield out
    eng.close()


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//""")


@pytest.mark.parametrize("kind", ["flow", "dns", "proxy"])
def test_to_html_is_self_contained(reports, kind, tmp_path):
    report = reports[kind]
    path = report.to_html(tmp_path / "out" / "report.html")
    text = path.read_text()
    assert not EXTERNAL.search(text), "the report must not load anything from the network"
    assert "<script" not in text
    assert text.count("data:image/png;base64,") >= 2  # profile + timeline (+ map for flow)
    for w in ("What", "Who", "When", "Where", "Why"):
        assert f"<td>{w}</td>" in text
    assert report.anchor.replace("&", "&amp;") in text
    for item in report.evidence.loc[report.evidence["suspicious"], "item"]:
        assert item in text


def test_flow_report_has_map_image(reports, tmp_path):
    text = reports["flow"].to_html(tmp_path / "r.html").read_text()
    assert "alt='map'" in text


def test_repr_html_and_plain_display(reports):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()  # a shell without a kernel, like terminal IPython
    report = reports["dns"]
    html = report._repr_html_()
    assert "NXDOMAIN rate" in html and "<table" in html
    with capture_output() as captured:
        report._ipython_display_()  # no kernel here: the plain HTML fallback
    (output,) = captured.outputs
    assert (
        "text/html" in output.data and "application/vnd.jupyter.widget-view+json" not in output.data
    )
    assert "NXDOMAIN" in output.data["text/plain"]


def test_widget_tabs(reports):
    import ipywidgets as w

    tab = reports["flow"].widget()
    assert isinstance(tab, w.Tab)
    assert list(tab.titles) == ["Summary", "Connections", "Timeline", "Map", "Storyboard"]
    storyboard = tab.children[4]
    labels = [c.description for c in storyboard.children[2].children if isinstance(c, w.Button)]
    assert labels == ["Save storyboard", "High", "Medium", "Low"]
    assert isinstance(tab.children[2].children[0], w.Image)


def test_every_table_is_a_dataframe(reports):
    import pandas as pd

    flow = reports["flow"]
    tables = flow.tables()
    for name in ("peers", "inbound", "outbound", "two_way", "top_by_bytes", "impact", "timeline"):
        frame = getattr(flow, name)
        assert isinstance(frame, pd.DataFrame)
        assert (tables[name] is frame) if name in tables else frame.empty  # empty ones left out
    assert set(tables) >= {"peers", "details", "timeline", "hourly", "daily", "evidence"}
    assert set(reports["proxy"].tables()) >= {"requests", "referers", "referred", "clients"}
    assert set(reports["dns"].tables()) >= {"queries", "clients", "rcodes"}
    assert "**Why**" in flow.five_ws()


def test_to_pdf_with_chromium(reports, tmp_path):
    require(chromium_path() is not None, "Chromium")
    path = reports["proxy"].to_pdf(tmp_path / "report.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 5000


def test_to_pdf_without_chromium_says_what_to_do(reports, tmp_path):
    with pytest.raises(SpotLabError, match="could not print|needs Chromium"):
        reports["flow"].to_pdf(tmp_path / "x.pdf", chromium="/nonexistent/chromium")


def test_widget_display_carries_an_html_fallback(reports, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    monkeypatch.setattr(shell, "kernel", object(), raising=False)  # as inside a Jupyter kernel
    with capture_output() as captured:
        reports["proxy"]._ipython_display_()
    (output,) = captured.outputs
    assert "application/vnd.jupyter.widget-view+json" in output.data  # JupyterLab: the widget
    assert "<td>Why</td>" in output.data["text/html"]  # nbconvert without widget state: HTML
