"""The README's real-output blocks are what the code prints on the demo lake today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_readme_examples_match_the_code():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "readme_examples.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_checker_finds_a_drifted_block(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import readme_examples as rx
    finally:
        sys.path.pop(0)
    text = "intro\n<!-- example: demo -->\n```\nIn [1]: x\n1 rows in 0.02 s\n```\nend"
    assert rx.blocks(text) == {"demo": (3, 5)}
    body = "\n".join(text.split("\n")[3:5])
    assert rx.masked(body) == rx.masked(body.replace("0.02 s", "1.5 s"))  # timings vary
    assert rx.masked(body) != rx.masked(body.replace("1 rows", "2 rows"))  # values do not
