"""End to end in a real browser: JupyterLab + the threats sidebar + the server extension.

Starts `jupyter lab` on 127.0.0.1 with a token over a scored copy of the demo lake, drives
Debian's Chromium with Playwright (no downloaded browser), and checks what an analyst does:
open the sidebar, see the flagged threats, click one (a notebook opens, the `%spot_threat`
cell appears and runs, the report and its map render), score a threat, reload, see the
score kept. Prints the time from opening the sidebar to its first page of rows.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from spot_lab.store.lake import Lake
from tests.conftest import DEMO_DAY
from tests.support import CHROMIUM_ARGS, chromium_path, require

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DAY = DEMO_DAY.isoformat()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def scored_lake(request, lake_copy) -> Path:
    """The demo lake with `<type>_scores` from the real scorer (or test rows without it)."""
    try:
        from spot_lab.scoring import score_day  # noqa: F401

        source = request.getfixturevalue("scored_lake_path")
        shutil.rmtree(lake_copy)
        shutil.copytree(source, lake_copy)
    except ImportError:
        from tests.flagged_rows import write_flagged

        write_flagged(lake_copy, DEMO_DAY, limit=300)
    assert Lake(lake_copy).days("flow_scores") == [DEMO_DAY]
    return lake_copy


@pytest.fixture()
def lab(scored_lake, tmp_path):
    """A JupyterLab server (own config, settings and workspace folders); killed at teardown."""
    require(chromium_path() is not None, "Chromium (apt-get install chromium)")
    labextension = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "spot-lab"
    require(labextension.is_dir(), "the spot-lab labextension (pip install -e .)")
    config = tmp_path / "jupyter-config"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    # No news / update toast over the page.
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"spot_lab": True}}})
    )
    root = tmp_path / "notebooks"
    root.mkdir()
    token, port = secrets.token_hex(16), _free_port()
    env = {
        **os.environ,
        "SPOT_LAB_LAKE": str(scored_lake),
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_CONFIG_PATH": str(config),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    log = open(tmp_path / "lab.log", "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            "--ServerApp.allow_root=True",
            f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
            f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                req = urllib.request.Request(
                    f"{base}/spot-lab/api/dates", headers={"Authorization": f"token {token}"}
                )
                with urllib.request.urlopen(req, timeout=5) as answer:
                    assert json.load(answer)["latest"]["flow"] == DEMO_DAY.isoformat()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(f"jupyter lab did not start: {(tmp_path / 'lab.log').read_text()}")
                time.sleep(0.5)
        yield {"base": base, "token": token, "lake": scored_lake, "root": root}
    finally:
        proc.terminate()  # SIGTERM: the server shuts its kernels down, then exits
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the server's own session: it and its kernels
            proc.wait()
        log.close()


@pytest.fixture()
def browser(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium"),
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        context.set_default_timeout(60_000)
        try:
            yield context
        finally:
            context.close()


def _open_lab(page, lab) -> None:
    page.goto(f"{lab['base']}/lab?token={lab['token']}")
    page.wait_for_selector("#jp-main-dock-panel", state="visible", timeout=90_000)
    page.wait_for_selector(".lm-TabBar-tab[data-id='spot-lab-threats']", timeout=90_000)
    # Lab has restored its layout (the launcher shows): an analyst can start working.
    page.wait_for_selector(".jp-Launcher", state="visible", timeout=90_000)


def _open_sidebar(page) -> float:
    """Click the sidebar's icon; return the seconds until its first row shows."""
    started = time.perf_counter()
    page.click(".lm-TabBar-tab[data-id='spot-lab-threats']")
    page.wait_for_selector("#spot-lab-threats .spot-lab-row", state="visible", timeout=60_000)
    return time.perf_counter() - started


def test_sidebar_lists_investigates_and_scores(lab, browser):
    page = browser.pages[0] if browser.pages else browser.new_page()
    _open_lab(page, lab)

    first_page = _open_sidebar(page)
    sidebar = page.locator("#spot-lab-threats")
    rows = sidebar.locator(".spot-lab-row")
    assert sidebar.locator(".spot-lab-date").input_value() == DEMO_DAY.isoformat()
    first = rows.first
    anchor = first.get_attribute("data-anchor")
    threats = Lake(lab["lake"]).read_partition("flow_threats", DEMO_DAY)
    listed = threats.num_rows or Lake(lab["lake"]).read_partition("flow_scores", DEMO_DAY).num_rows
    assert rows.count() == min(50, listed)  # one page of the default size, never every row
    if threats.num_rows:  # the triage list: one row per threat, the top one first
        assert "threats" in sidebar.locator(".spot-lab-summary").inner_text()
        top = threats.sort_by("rank").slice(0, 1).to_pylist()[0]
        assert first.locator(".spot-lab-anchor").inner_text() == top["entity"]
        assert anchor in top["entity"].split(" -> ")
    else:  # Spot's flagged rows
        assert "flagged" in sidebar.locator(".spot-lab-summary").inner_text()
        flow_scores = Lake(lab["lake"]).read_partition("flow_scores", DEMO_DAY)
        sides = set(flow_scores["srcip"].to_pylist()) | set(flow_scores["dstip"].to_pylist())
        assert anchor in sides

    # Switching type and paging fetch other pages from the server.
    sidebar.locator(".spot-lab-type", has_text="dns").click()
    page.wait_for_function(
        "() => document.querySelector('#spot-lab-threats .spot-lab-row .spot-lab-anchor')"
        "?.textContent.includes('.')"
        " && !/^\\d+\\.\\d+\\.\\d+\\.\\d+$/.test("
        "document.querySelector('#spot-lab-threats .spot-lab-row .spot-lab-anchor').textContent)"
    )
    sidebar.locator(".spot-lab-type", has_text="flow").click()
    page.wait_for_selector(f"#spot-lab-threats .spot-lab-row[data-anchor='{anchor}']")

    # Click to investigate with no notebook open: a notebook opens, the cell appears and runs.
    sidebar.locator(".spot-lab-row").first.locator(".spot-lab-open").click()
    cell = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text="%spot_threat").first
    cell.wait_for(state="visible", timeout=90_000)
    source = cell.locator(".jp-InputArea-editor").inner_text()
    assert "%load_ext spot_lab" in source
    assert f"%spot_threat {anchor} --type flow --date {DEMO_DAY.isoformat()}" in source
    expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=180_000)
    output = cell.locator(".jp-OutputArea")
    output.locator(".jp-OutputArea-output").first.wait_for(state="visible")
    assert "Traceback" not in output.inner_text()
    map_tab = output.locator(".lm-TabBar-tab", has_text="Map")  # the report's tabs
    map_tab.first.click()
    output.locator(".leaflet-container").first.wait_for(state="visible", timeout=60_000)

    # Score the first threat High from the sidebar; the list shows it.
    target = sidebar.locator(f".spot-lab-row[data-anchor='{anchor}']").first
    target.locator(".spot-lab-sev-button[data-severity='1']").click()
    page.wait_for_selector(
        f"#spot-lab-threats .spot-lab-row.spot-lab-sev-1[data-anchor='{anchor}']"
    )
    scored = Lake(lab["lake"]).read_partition("flow_threat_investigation", DEMO_DAY)
    assert scored.num_rows > 0 and set(scored["score"].to_pylist()) == {1}

    # Reload: the score is durable and the sidebar shows it again.
    page.reload()
    page.wait_for_selector("#jp-main-dock-panel", state="visible", timeout=90_000)
    if not page.locator("#spot-lab-threats .spot-lab-row").first.is_visible():
        _open_sidebar(page)
    kept = page.locator(f"#spot-lab-threats .spot-lab-row.spot-lab-sev-1[data-anchor='{anchor}']")
    kept.first.wait_for(state="visible")
    assert "spot-lab-chosen" in (
        kept.first.locator(".spot-lab-sev-button[data-severity='1']").get_attribute("class")
    )

    # A score given elsewhere (the report's buttons in the kernel) shows when the sidebar
    # is shown again.
    from spot_lab.investigation import analyst

    rows = page.locator("#spot-lab-threats .spot-lab-row")
    other = next(
        a
        for a in (rows.nth(i).get_attribute("data-anchor") for i in range(rows.count()))
        if a != anchor
    )
    analyst.record_score(lab["lake"], "flow", DEMO_DAY, other, 3)
    page.click(".lm-TabBar-tab[data-id='filebrowser']")
    page.click(".lm-TabBar-tab[data-id='spot-lab-threats']")
    page.wait_for_selector(f"#spot-lab-threats .spot-lab-row.spot-lab-sev-3[data-anchor='{other}']")

    # bench/bench_threats_api.py reads this line (run with -s)
    print(f"\nsidebar first page of rows: {first_page * 1000:.0f} ms after opening")


def test_sidebar_says_how_to_fix_a_missing_server_extension(lab, browser, tmp_path):
    """With the API gone (404), the sidebar tells the analyst the command that fixes it."""
    page = browser.pages[0] if browser.pages else browser.new_page()
    page.route("**/spot-lab/api/**", lambda route: route.fulfill(status=404, body=""))
    _open_lab(page, lab)
    page.click(".lm-TabBar-tab[data-id='spot-lab-threats']")
    error = page.locator("#spot-lab-threats .spot-lab-error")
    error.wait_for(state="visible")
    assert "jupyter server extension enable spot_lab" in error.inner_text()


def _write_notebook(path: Path, sources: list[str]) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}  # fmt: skip
    notebook.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(notebook, path)


def test_first_click_in_a_fresh_notebook_on_a_fresh_kernel(lab, browser):
    """Issue 14, item 8: the notebook's text says `%load_ext spot_lab` but that cell never
    ran. The sidebar asks the kernel, loads the extension in its cell, and inserts the cell
    below the active one; the cell runs without `UsageError`."""
    _write_notebook(lab["root"] / "first.ipynb", ["%load_ext spot_lab", "x = 1"])
    page = browser.pages[0] if browser.pages else browser.new_page()
    page.goto(f"{lab['base']}/lab/tree/first.ipynb?token={lab['token']}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible", timeout=90_000)
    # the kernel is up and idle, and has run nothing
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(cells).to_have_count(2)
    cells.nth(1).locator(".jp-InputPrompt").click()  # the analyst's active cell: "x = 1"

    _open_sidebar(page)
    row = page.locator("#spot-lab-threats .spot-lab-row").first
    anchor = row.get_attribute("data-anchor")
    row.locator(".spot-lab-open").click()

    new = page.locator(".jp-Notebook .jp-Cell").nth(2)  # below the active cell
    new.wait_for(state="visible", timeout=60_000)
    source = new.locator(".jp-InputArea-editor").inner_text()
    assert source.splitlines()[0] == "%load_ext spot_lab"
    assert f"%spot_threat {anchor} --type flow --date {DAY}" in source
    expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(3)
    expect(new.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=180_000)
    output = new.locator(".jp-OutputArea")
    output.locator(".jp-OutputArea-output").first.wait_for(state="visible")
    text = output.inner_text()
    assert "UsageError" not in text and "not found" not in text and "Traceback" not in text

    # the kernel has spot-lab now: the next click inserts the magic alone, below the new cell
    second = page.locator("#spot-lab-threats .spot-lab-row").nth(1)
    second.locator(".spot-lab-open").click()
    later = page.locator(".jp-Notebook .jp-Cell").nth(3)
    later.wait_for(state="visible", timeout=60_000)
    assert later.locator(".jp-InputArea-editor").inner_text().startswith("%spot_threat ")


def test_rows_of_the_previous_page_are_disabled_while_the_next_loads(lab, browser):
    """Issue 14, item 4: after switching type, the old rows cannot be clicked or scored;
    every action carries the type and date of the row it was shown with."""
    page = browser.pages[0] if browser.pages else browser.new_page()
    held = []

    def dns_page(url: str) -> bool:
        return "/spot-lab/api/threats" in url and "type=dns" in url

    page.route(dns_page, lambda route: held.append(route))
    _open_lab(page, lab)
    _open_sidebar(page)
    sidebar = page.locator("#spot-lab-threats")
    assert sidebar.locator(".spot-lab-row").first.get_attribute("data-type") == "flow"
    sidebar.locator(".spot-lab-type", has_text="dns").click()
    deadline = time.monotonic() + 30
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert held, "the dns page was never asked for"
    old = sidebar.locator(".spot-lab-row").first
    assert old.get_attribute("data-type") == "flow"
    assert old.locator(".spot-lab-open").is_disabled()
    assert old.locator(".spot-lab-sev-button").first.is_disabled()
    assert "spot-lab-stale" in sidebar.locator(".spot-lab-list").get_attribute("class")
    for route in held:
        route.continue_()
    page.unroute(dns_page)  # later dns pages (the refresh after a score) go straight through
    page.wait_for_selector("#spot-lab-threats .spot-lab-row[data-type='dns']")
    fresh = sidebar.locator(".spot-lab-row").first
    assert fresh.locator(".spot-lab-open").is_enabled()
    # a score from a dns row goes out as dns, whatever the controls say meanwhile
    with page.expect_request(lambda r: "/spot-lab/api/score" in r.url) as request:
        fresh.locator(".spot-lab-sev-button[data-severity='2']").click()
    page.wait_for_selector("#spot-lab-threats .spot-lab-row.spot-lab-sev-2[data-type='dns']")
    body = json.loads(request.value.post_data)
    assert (body["type"], body["date"], body["severity"]) == ("dns", DAY, 2)
    assert body["anchor"] == fresh.get_attribute("data-anchor")
