"""Shared fixtures: a generated (and, once scored, modelled) demo lake, and empty lakes.

Plugins for heavier parts live beside this file (tests/spark_fixture.py starts a real
Spark Thrift Server) and are loaded through `pytest_plugins`.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

DEMO_DAY = dt.date(2026, 11, 28)
DEMO_FLOWS = 20_000
DEMO_SEED = 11

pytest_plugins = ["tests.spark_fixture"]


@pytest.fixture(scope="session")
def demo_lake_path(tmp_path_factory) -> Path:
    """A small generated demo lake, shared read-only by the whole session (copy to write)."""
    from spot_lab.demo.generator import generate

    root = tmp_path_factory.mktemp("demo") / "lake"
    generate(root, DEMO_DAY, days=1, flows_per_day=DEMO_FLOWS, seed=DEMO_SEED, progress=False)
    return root


@pytest.fixture(scope="session")
def scored_lake_path(demo_lake_path, tmp_path_factory) -> Path:
    """The demo lake after `spot-lab score` for every type (read-only; copy to write)."""
    from spot_lab.demo.command import score_lake

    root = tmp_path_factory.mktemp("scored") / "lake"
    shutil.copytree(demo_lake_path, root)
    score_lake(root, DEMO_DAY, progress=False)
    return root


@pytest.fixture()
def scored_lake_copy(scored_lake_path, tmp_path) -> Path:
    """A private, writable copy of the scored demo lake."""
    target = tmp_path / "scored-lake"
    shutil.copytree(scored_lake_path, target)
    return target


@pytest.fixture()
def lake_copy(demo_lake_path, tmp_path) -> Path:
    """A private copy of the demo lake that a test may write to."""
    target = tmp_path / "lake"
    shutil.copytree(demo_lake_path, target)
    return target


@pytest.fixture()
def empty_lake(tmp_path) -> Path:
    root = tmp_path / "empty-lake"
    for data_type in ("flow", "dns", "proxy"):
        (root / data_type / "hive").mkdir(parents=True)
    return root


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path, monkeypatch):
    """No developer's ~/.jupyter or SPOT_LAB_* variables leak into tests."""
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(tmp_path / "jupyter-config"))
    for key in [k for k in os.environ if k.startswith("SPOT_LAB_")]:
        monkeypatch.delenv(key)
