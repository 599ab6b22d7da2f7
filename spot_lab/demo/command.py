"""`spot-lab demo`: the newcomer's first command.

Generates (and scores) the demo lake when it is absent (or, with --logs DIR, ingests the
user's own logs and scores their latest day), then either opens JupyterLab on the demo
notebook, or with --execute runs the notebook headless and writes an HTML report.
The notebook is assembled from notebooks/sections/*.py (jupytext percent format).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

from spot_lab.config import DEMO_LAKE, load_settings
from spot_lab.errors import LakeError, SpotLabError
from spot_lab.store.lake import full_path, is_demo_lake

DEMO_DATE = dt.date(2026, 11, 28)
LOGS_LAKE = Path("~/.spot-lab/logs-lake")  # `spot-lab demo --logs DIR` ingests into it
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # terminal colours in a kernel's traceback
DEMO_SEED = 7
REPO_NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PACKAGED_NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "demo.ipynb"


def _say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def demo_notebook() -> Path:
    """The demo notebook: the repo's copy in a checkout, the packaged copy otherwise."""
    for candidate in (REPO_NOTEBOOKS / "demo.ipynb", PACKAGED_NOTEBOOK):
        if candidate.is_file():
            return candidate
    raise SpotLabError("demo notebook not found: reinstall spot-lab")


def build_notebook(sections: Path = REPO_NOTEBOOKS / "sections"):
    """Assemble the demo notebook from its section files, in name order."""
    import jupytext
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for path in sorted(sections.glob("*.py")):
        part = jupytext.reads(path.read_text(), fmt="py:percent")
        for number, cell in enumerate(part.cells):
            cell.metadata = {}
            cell["id"] = f"{path.stem}-{number}"  # stable ids: the built file is reproducible
            notebook.cells.append(cell)
    return notebook


def prepare_lake(lake: Path, flows_per_day: int) -> Path:
    """Use the demo lake, or generate and score it into a missing or empty folder. Any other
    folder (a user's own lake, say) is refused before anything is written."""
    if is_demo_lake(lake) or (lake / "ground_truth.json").is_file():  # the latter: wave 1's
        _check_demo_day(lake)
        _say(f"using the demo lake at {lake}")
        return lake
    if lake.exists() and (not lake.is_dir() or any(lake.iterdir())):
        raise LakeError(
            f"{lake} is not a demo lake spot-lab made, and the demo never writes into other "
            f"folders: give it its own with --lake (for example --lake {DEMO_LAKE})"
        )
    from spot_lab.demo.generator import generate

    _say(f"generating a demo day ({flows_per_day:,} flows + DNS + proxy) into {lake}")
    generate(lake, DEMO_DATE, days=1, flows_per_day=flows_per_day, seed=DEMO_SEED)
    score_lake(lake, DEMO_DATE)
    return lake


def prepare_logs(logs: str, lake: Path) -> Path:
    """`--logs DIR`: ingest the folder into the lake (a new folder, or a lake), then score
    the latest day of each data type it holds (a type too small for the model is said so)."""
    from spot_lab.ingest import ingest

    _say(f"ingesting {logs} into {lake}")
    report = ingest(logs, lake)
    for line in report.lines():
        print(line, file=sys.stderr, flush=True)
    if not report.rows and not any(
        (lake / t / "hive").rglob("*.parquet") for t in ("flow", "dns", "proxy")
    ):
        raise SpotLabError(f"no file in {logs} gave Spot rows: give a folder of Zeek, Suricata, "
                           "nfdump, pcap, squid or Blue Coat logs")  # fmt: skip
    score_latest(lake)
    return lake


def score_latest(lake: Path, progress: bool = True) -> list[tuple[str, dt.date]]:
    """Score the latest day of every data type with raw data; (type, day) of those scored."""
    from spot_lab.engines.duckdb_engine import DuckDBEngine
    from spot_lab.scoring import score_day
    from spot_lab.store.lake import Lake

    settings = load_settings()
    engine = DuckDBEngine(lake)
    scored = []
    try:
        for data_type in ("flow", "dns", "proxy"):
            days = Lake(lake).days(data_type)
            if not days:
                continue
            try:
                score_day(
                    engine, data_type, days[-1], user_domain=settings.user_domain, progress=progress
                )
                scored.append((data_type, days[-1]))
            except SpotLabError as exc:
                _say(f"{data_type} {days[-1]} not scored: {exc}")
    finally:
        engine.close()
    if not scored:
        raise SpotLabError(f"nothing in {lake} could be scored: the notebook needs one scored day")
    return scored


def _check_demo_day(lake: Path) -> None:
    """The demo notebook investigates DEMO_DATE: a demo lake of other days is refused before
    the notebook runs (it ended in a cell's KeyError)."""
    from spot_lab.store.lake import Lake

    days = Lake(lake).days("flow")
    if DEMO_DATE not in days:
        held = ", ".join(str(d) for d in days[:3]) + (" ..." if len(days) > 3 else "") or "no day"
        raise LakeError(
            f"the demo lake at {lake} holds {held}, the demo notebook investigates "
            f"{DEMO_DATE}: give the demo its own folder with --lake (for example --lake "
            f"{DEMO_LAKE}), or regenerate this one with `spot-lab generate --lake {lake} "
            f"--date {DEMO_DATE} --force`"
        )


def check_output(output: Path) -> Path:
    """The report's path for --execute: a new file, or a report an earlier demo wrote (the
    demo never overwrites anything else); checked before the minutes of generating."""
    if output.is_dir():
        raise SpotLabError(
            f"--output {output} is a folder: name the HTML file, e.g. {output / 'spot-lab-demo.html'}"
        )
    if output.exists() and REPORT_MARK not in _head(output):
        raise SpotLabError(
            f"--output {output} exists and is not a spot-lab demo report: "
            "name a new file (the demo never overwrites other files)"
        )
    if not output.parent.is_dir():
        raise SpotLabError(f"--output {output}: the folder {output.parent} does not exist")
    return output


REPORT_MARK = "<!-- spot-lab demo report -->"


def _head(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read(256).decode("utf-8", "replace")
    except OSError:
        return ""


def score_lake(lake: Path, day: dt.date, progress: bool = True) -> None:
    """Run Spot's model for flow, DNS and proxy on one day of a demo lake."""
    from spot_lab.demo.world_data import USER_DOMAIN
    from spot_lab.engines.duckdb_engine import DuckDBEngine
    from spot_lab.scoring import score_day

    engine = DuckDBEngine(lake)
    try:
        for data_type in ("flow", "dns", "proxy"):
            if progress:
                _say(f"scoring {data_type} with Spot's suspicious-connects model")
            score_day(engine, data_type, day, user_domain=USER_DOMAIN, progress=progress)
    finally:
        engine.close()


def demo_environment(lake: Path) -> dict[str, str]:
    """Settings of the demo for the notebook's kernel (and the Jupyter server's extension)."""
    from spot_lab.demo.world_data import USER_DOMAIN

    return {"SPOT_LAB_LAKE": str(lake), "SPOT_LAB_USER_DOMAIN": USER_DOMAIN}


def execute_notebook(lake: Path, output: Path) -> Path:
    """Run the demo notebook headless and write it as HTML."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    notebook = nbformat.read(demo_notebook(), as_version=4)
    os.environ.update(demo_environment(lake))
    workdir = output.parent
    workdir.mkdir(parents=True, exist_ok=True)
    _say(f"running {len(notebook.cells)} cells of the demo notebook")
    started = time.perf_counter()
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        failure = _ANSI.sub("", str(exc)).strip().splitlines()[-1]
        raise SpotLabError(
            f"the demo notebook failed: {failure} (partial report: {output})"
        ) from None
    finally:
        _prefer_static_html(notebook)
        html, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
        output.write_text(f"{REPORT_MARK}\n{html}")
    _say(f"ran in {time.perf_counter() - started:.1f} s; report: {output}")
    return output


def _prefer_static_html(notebook) -> None:
    """Keep the HTML twin of widget outputs: a static report cannot run widgets."""
    widget_view = "application/vnd.jupyter.widget-view+json"
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if widget_view in data and "text/html" in data:
                del data[widget_view]


def start_lab(lake: Path, port: int, open_browser: bool) -> int:
    """Start JupyterLab on the demo notebook and print its URL (works headless)."""
    workdir = demo_notebook().parent
    token = secrets.token_hex(16)
    env = dict(os.environ, **demo_environment(lake))
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--ServerApp.root_dir={workdir}",
        f"--IdentityProvider.token={token}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--ServerApp.allow_root=True")
    if not open_browser or not (os.environ.get("DISPLAY") or sys.platform == "darwin"):
        cmd.append("--no-browser")
    url = f"http://127.0.0.1:{port}/lab/tree/demo.ipynb?token={token}"
    _say(f"starting JupyterLab; open {url}")
    print(url, flush=True)
    return subprocess.call(cmd, env=env)


def run_demo(
    lake: str | None = None,
    execute: bool = False,
    output: str | None = None,
    port: int = 8888,
    flows_per_day: int = 200_000,
    open_browser: bool = True,
    logs: str | None = None,
) -> int:
    # Check before the minutes of generating and scoring, not after.
    if importlib.util.find_spec("jupyterlab" if not execute else "nbclient") is None:
        raise SpotLabError("JupyterLab is not installed: pip install 'spot-lab[all]'")
    target = full_path(output or Path.cwd() / "spot-lab-demo.html")
    if execute:
        check_output(target)
    if logs:  # the demo on the user's own logs, in their own lake
        lake_path = full_path(lake or LOGS_LAKE)
        prepare_logs(logs, lake_path)
    else:
        lake_path = full_path(lake or load_settings().lake)
        prepare_lake(lake_path, flows_per_day)
    if execute:
        execute_notebook(lake_path, target)
        return 0
    return start_lab(lake_path, port, open_browser)


def main() -> None:  # `python -m spot_lab.demo.command`: refresh notebooks/demo.ipynb
    import nbformat

    nbformat.write(build_notebook(), REPO_NOTEBOOKS / "demo.ipynb")
    print(REPO_NOTEBOOKS / "demo.ipynb")


if __name__ == "__main__":
    main()
