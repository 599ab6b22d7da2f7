"""Settings are read the same way by the magics, the server extension and the CLI."""

from __future__ import annotations

import json

import pytest
from traitlets.config import Config, TraitError

from spot_lab.config import load_settings


def test_defaults_point_at_the_demo_lake():
    settings = load_settings()
    assert settings.lake.endswith("demo-lake")
    assert settings.displaylimit == 10


def test_jupyter_config_file_then_env_then_host_config(tmp_path, monkeypatch):
    config_dir = tmp_path / "jupyter-config"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "spot_lab_config.json").write_text(
        json.dumps({"SpotLab": {"lake": "/from/file", "displaylimit": 3, "top_n": 7}})
    )
    assert load_settings().lake == "/from/file"
    monkeypatch.setenv("SPOT_LAB_LAKE", "/from/env")
    monkeypatch.setenv("SPOT_LAB_DISPLAYLIMIT", "5")
    settings = load_settings()
    assert (settings.lake, settings.displaylimit, settings.top_n) == ("/from/env", 5, 7)
    host = Config({"SpotLab": {"displaylimit": 42}})
    assert load_settings(host).displaylimit == 42


def test_python_config_file(tmp_path):
    (tmp_path / "jupyter-config").mkdir(exist_ok=True)
    (tmp_path / "jupyter-config" / "spot_lab_config.py").write_text(
        "c.SpotLab.user_domain = 'acme'\n"
    )
    assert load_settings().user_domain == "acme"


def test_invalid_values_are_refused():
    settings = load_settings()
    with pytest.raises(TraitError):
        settings.displaylimit = -1
    with pytest.raises(TraitError):
        settings.timeout = 0


def test_context_files_default_to_the_lake(tmp_path, monkeypatch):
    monkeypatch.setenv("SPOT_LAB_LAKE", str(tmp_path))
    settings = load_settings()
    assert settings.context_file("network_context", "network_context.csv") == (
        tmp_path / "context" / "network_context.csv"
    )
