"""What a merge or a session can leave behind in tracked files."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^(<<<<<<<|>>>>>>>) ", re.M)


def test_no_merge_conflict_markers_in_tracked_files():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()  # fmt: skip
    found = []
    for name in files:
        path = ROOT / name
        text_file = path.suffix in {
            ".py",
            ".md",
            ".yaml",
            ".toml",
            ".sh",
            ".ts",
            ".tsx",
            ".json",
            ".cfg",
        }
        if text_file and MARKER.search(path.read_text(errors="replace")):
            found.append(name)
    assert found == []
