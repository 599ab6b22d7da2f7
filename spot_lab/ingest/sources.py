"""What `spot-lab ingest SOURCE...` means: files, folders (recursive: Zeek's dated folders
and rotated names such as conn.00:00:00-01:00:00.log.gz) and globs. A path that exists is
taken literally, so names with `[`, `*`, `'` or `\\` work; otherwise it is a glob."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from pathlib import Path


def expand(
    sources: Iterable[str | os.PathLike], exclude: Path | None = None
) -> tuple[list[Path], list[str]]:
    """(files in a stable order, sources that matched nothing). Hidden files and folders
    (a leading dot) are not walked into; `exclude` (the lake itself) is never read."""
    files: list[Path] = []
    missing: list[str] = []
    for source in sources:
        text = os.fspath(source)
        path = Path(text).expanduser()
        if path.exists():
            found = _walk(path) if path.is_dir() else [path]
        else:
            found = [Path(p) for p in sorted(glob.glob(os.path.expanduser(text), recursive=True))]
            found = [f for p in found for f in (_walk(p) if p.is_dir() else [p])]
        if not found:
            missing.append(text)
        files += found
    seen, out = set(), []
    for f in files:
        resolved = f.resolve()
        if resolved in seen or (exclude and resolved.is_relative_to(exclude)):
            continue
        seen.add(resolved)
        out.append(resolved)
    return out, missing


def _walk(folder: Path) -> list[Path]:
    out = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [Path(root) / n for n in sorted(names) if not n.startswith(".")]
    return [p for p in out if p.is_file()]


def display(path: Path) -> str:
    """A path as the summary names it: relative to the working folder when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
