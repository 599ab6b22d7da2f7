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
# DB-IP City Lite for spot-lab[geo]: the spot-lab-dbip-city wheel, built from geo-data/
# (released beside spot-lab; from a checkout it is found in geo-data/dist).
bash scripts/build-geo-data.sh .venv/bin/python
echo "==> installing spot-lab[$1] (builds the JupyterLab extension with jlpm, ~1 min the first time)"
.venv/bin/pip install -q --no-build-isolation --find-links geo-data/dist -e ".[$1]"
