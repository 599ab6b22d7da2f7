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


# ---- faults: a lake the writer cannot change ---------------------------------------------------
# Tests run as root, and root ignores file modes. Two ways work on this machine (Debian,
# ext4): run the writer as `nobody` (setpriv, no capabilities) on a world-readable copy, as
# a user without write access would; or, for writers inside the test process, mark the
# lake immutable with `chattr +i` (root gets EPERM too). overlayfs refuses chattr: `require`
# then fails under CI instead of skipping.
NOBODY = 65534


def world_readable_copy(source, parent):
    """A copy of a lake that `nobody` can read but not write, in `parent` (made 0755)."""
    from pathlib import Path

    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    target = parent / "lake"
    shutil.copytree(source, target)
    for path in [parent, *parent.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def as_nobody(args: list[str], env: dict[str, str] | None = None, timeout: float = 300):
    """Run a command as `nobody` (no capabilities); its CompletedProcess."""
    import subprocess

    setpriv = shutil.which("setpriv")
    require(setpriv is not None, "setpriv (util-linux)")
    cmd = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


class immutable:  # noqa: N801 - used as `with immutable(root):`
    """`chattr -R +i` a folder for the block (even root cannot change it), then undo it."""

    def __init__(self, root) -> None:
        self.root = str(root)

    def __enter__(self):
        import subprocess

        done = subprocess.run(["chattr", "-R", "+i", self.root], capture_output=True, text=True)
        if done.returncode != 0:
            subprocess.run(["chattr", "-R", "-i", self.root], capture_output=True)
        require(done.returncode == 0, f"chattr +i on {self.root} ({done.stderr.strip()})")
        return self

    def __exit__(self, *exc) -> None:
        import subprocess

        subprocess.run(["chattr", "-R", "-i", self.root], capture_output=True, check=True)
