"""Faults a user meets: a read-only lake, odd characters in the lake's path, binary context
files, a demo pointed at the wrong place. Each ends in one line saying what to do, never a
traceback or a 5xx, and changes nothing."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from spot_lab.engines import connections
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.errors import InputError, SpotLabError, WriteError
from spot_lab.investigation import analyst, storyboard
from spot_lab.store.lake import Lake
from tests.conftest import DEMO_DAY
from tests.flagged_rows import write_flagged
from tests.support import as_nobody, immutable, snapshot, world_readable_copy

DAY = DEMO_DAY.isoformat()
SPOT_LAB = str(Path(sys.executable).with_name("spot-lab"))


def _one_line_error(text: str) -> None:
    assert "Traceback" not in text and "\x1b[" not in text, text
    assert text.strip().count("\n") == 0, text


@pytest.fixture()
def flagged(lake_copy) -> Path:
    write_flagged(lake_copy, DEMO_DAY, limit=200)
    return lake_copy


def _flagged_anchor(lake: Path) -> str:
    return Lake(lake).read_partition("flow_scores", DEMO_DAY)["srcip"][0].as_py()


# ---- a read-only lake ----------------------------------------------------------------------
@pytest.fixture()
def shared_dir():
    """A folder `nobody` can reach (pytest's own are 0700 under /tmp/pytest-of-root)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="spot-lab-faults-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture()
def nobody_env(shared_dir) -> dict[str, str]:
    home = shared_dir / "nobody-home"
    home.mkdir()
    home.chmod(0o777)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOT_LAB_")}
    return env | {"HOME": str(home), "JUPYTER_CONFIG_DIR": str(home), "JUPYTER_CONFIG_PATH": ""}


def test_cli_writers_on_a_read_only_lake_say_so_in_one_line(
    scored_lake_path, shared_dir, nobody_env
):
    lake = world_readable_copy(scored_lake_path, shared_dir / "shared")
    before = snapshot(lake)
    for args in (
        ["score", "--type", "dns", "--date", DAY, "--lake", str(lake)],
        ["index", "--date", DAY, "--lake", str(lake)],
        ["generate", "--lake", str(lake / "new"), "--date", DAY, "--flows-per-day", "1000"],
    ):
        done = as_nobody([SPOT_LAB, *args], env=nobody_env)
        assert done.returncode == 2, (args, done.stderr)
        _one_line_error(done.stderr)
        assert "is read-only for this user" in done.stderr, done.stderr
    # reading still works for that user
    done = as_nobody([SPOT_LAB, "check", "--lake", str(lake)], env=nobody_env)
    assert done.returncode == 0 and "all readable" in done.stdout, done.stderr
    assert snapshot(lake) == before


def test_kernel_writes_on_an_immutable_lake_are_refused_whole(flagged):
    anchor = _flagged_anchor(flagged)
    before = snapshot(flagged)
    with immutable(flagged):
        with pytest.raises(WriteError, match="read-only") as info:
            analyst.record_score(flagged, "flow", DEMO_DAY, anchor, 1)
        _one_line_error(str(info.value))
        with pytest.raises(WriteError, match="read-only"):
            storyboard.save_storyboard(flagged, "flow", DEMO_DAY, anchor, "C2", "text")
    assert snapshot(flagged) == before


# ---- odd characters in the lake's path -------------------------------------------------------
def test_a_lake_path_with_glob_characters_works_everywhere(scored_lake_path, tmp_path, monkeypatch):
    lake = tmp_path / "we[i]rd \\ ** {a,b} ?" / "lake"
    shutil.copytree(scored_lake_path, lake)
    plain = DuckDBEngine(scored_lake_path)
    engine = DuckDBEngine(lake)
    count = "SELECT count(*) AS n FROM flow"
    assert engine.arrow(count)["n"][0].as_py() == plain.arrow(count)["n"][0].as_py() > 0

    from spot_lab.server import threats

    page = threats.threats_page(engine, "flow", DEMO_DAY, 1, 20, "", None)
    expected = threats.threats_page(plain, "flow", DEMO_DAY, 1, 20, "", None)
    assert page["rows"] and [r["anchor"] for r in page["rows"]] == [
        r["anchor"] for r in expected["rows"]
    ]

    monkeypatch.setenv("SPOT_LAB_LAKE", str(lake))
    monkeypatch.setattr(connections, "_session", None)
    shell = InteractiveShell()
    try:
        shell.run_line_magic("load_ext", "spot_lab")
        frame = shell.run_cell_magic("spotquery", f"--date {DAY}", "SELECT count(*) AS n FROM dns")
        assert int(frame["n"].iloc[0]) > 0
        report = shell.run_line_magic("spot_threat", f"{page['rows'][0]['anchor']} --date {DAY}")
        assert not report.empty
    finally:
        connections.session().close_all()
        InteractiveShell.clear_instance()

    from spot_lab.scoring import score_day
    from spot_lab.store import ipindex

    result = score_day(engine, "proxy", DEMO_DAY, progress=False)
    assert result.flagged > 0 and Lake(lake).days("proxy_scores") == [DEMO_DAY]
    assert ipindex.build(lake, DEMO_DAY).rows > 0 and ipindex.is_fresh(Lake(lake), DEMO_DAY)
    plain.close()
    engine.close()


# ---- binary context files ----------------------------------------------------------------------
def test_binary_context_files_name_the_file_in_one_line(scored_lake_copy, monkeypatch):
    context = scored_lake_copy / "context"
    junk = bytes(range(256)) * 64
    (context / "network_context.csv").write_bytes(junk)
    (context / "ipranges.csv").write_bytes(junk)
    anchor = _flagged_anchor(scored_lake_copy)
    monkeypatch.setenv("SPOT_LAB_LAKE", str(scored_lake_copy))
    monkeypatch.setattr(connections, "_session", None)
    shell = InteractiveShell()
    try:
        shell.run_line_magic("load_ext", "spot_lab")
        with pytest.raises(UsageError) as info:
            shell.run_line_magic("spot_threat", f"{anchor} --date {DAY}")
        _one_line_error(str(info.value))
        assert "not UTF-8 text" in str(info.value) and "/context/" in str(info.value)
    finally:
        connections.session().close_all()
        InteractiveShell.clear_instance()

    from spot_lab.scoring import score_day

    with pytest.warns(UserWarning, match="not UTF-8"), pytest.raises(InputError) as info:
        score_day(DuckDBEngine(scored_lake_copy), "flow", DEMO_DAY, progress=False)
    _one_line_error(str(info.value))
    assert "not UTF-8 text" in str(info.value)


# ---- the demo pointed at the wrong place ---------------------------------------------------------
def test_demo_refuses_an_output_folder_before_any_work(tmp_path):
    from spot_lab.demo.command import run_demo

    lake = tmp_path / "demo-lake"
    with pytest.raises(SpotLabError, match="is a folder: name the HTML file") as info:
        run_demo(lake=str(lake), execute=True, output=str(tmp_path))
    _one_line_error(str(info.value))
    assert not lake.exists()  # refused before generating anything
    mine = tmp_path / "notes.html"
    mine.write_text("<p>my own notes</p>")
    with pytest.raises(SpotLabError, match="not a spot-lab demo report"):
        run_demo(lake=str(lake), execute=True, output=str(mine))
    assert mine.read_text() == "<p>my own notes</p>" and not lake.exists()


def test_demo_refuses_a_demo_lake_of_another_day(tmp_path):
    import datetime as dt

    from spot_lab.demo.command import prepare_lake
    from spot_lab.demo.generator import generate

    other = tmp_path / "other-day"
    generate(other, dt.date(2026, 1, 5), flows_per_day=2_000, seed=3, progress=False)
    before = snapshot(other)
    with pytest.raises(SpotLabError, match="holds 2026-01-05, the demo notebook investigates") as i:
        prepare_lake(other, 2_000)
    _one_line_error(str(i.value))
    assert snapshot(other) == before
