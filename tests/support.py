"""Helpers shared by the tests."""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(available: bool, what: str) -> None:
    """Skip when a component is missing on a developer machine; fail under CI (CI=true)."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI but missing: the test command must install it")
    pytest.skip(f"{what} not available")


# Debian's Chromium, headless, on a machine without internet (platform notes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def snapshot(root) -> dict[str, bytes]:
    """Every file of a folder (relative path -> bytes), to prove a lake is unchanged."""
    from pathlib import Path

    root = Path(root)
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".spot-lab" not in p.parts
    }
