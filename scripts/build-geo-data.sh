#!/usr/bin/env bash
# Build the spot-lab-dbip-city wheel (DB-IP City Lite, the database of spot-lab[geo]) from
# geo-data/ into geo-data/dist, once: an existing wheel of the same version is kept.
# Usage: scripts/build-geo-data.sh [PYTHON]   (a Python with pip; default python3)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${1:-python3}"
version="$(sed -n 's/^version = "\([^"]*\)".*/\1/p' "$ROOT/geo-data/pyproject.toml")"
wheel="$ROOT/geo-data/dist/spot_lab_dbip_city-$version-py3-none-any.whl"
if [ ! -f "$wheel" ]; then
  echo "==> building the spot-lab-dbip-city $version wheel (DB-IP City Lite, ~49 MB; about 30 s)"
  "$PYTHON" -m pip wheel -q --no-deps "$ROOT/geo-data" -w "$ROOT/geo-data/dist"
fi
[ -f "$wheel" ] || { echo "build-geo-data: $wheel was not built" >&2; exit 1; }
