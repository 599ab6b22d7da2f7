# Sourced by scripts/demo.sh and scripts/test.sh: a virtualenv with spot-lab installed
# (editable) with the given extras, and its bin/ first on PATH.
# Usage: . scripts/setup-env.sh EXTRAS
#   all   -> .venv        the demo's environment: spot-lab[all] and nothing for tests
#   test  -> .venv-test   the tests' environment: spot-lab[test]
#   bench -> .venv-bench  the benchmarks': spot-lab[bench] (test + JupySQL to compare with)
# Each environment records its extras in <venv>/spot-lab-extras; one made for other extras
# (or by an older version of this script, which shared .venv) is recreated.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
EXTRAS="$1"
case "$EXTRAS" in
  all) VENV=.venv ;;
  *) VENV=".venv-$EXTRAS" ;;
esac
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/spot-lab-extras" 2>/dev/null)" != "$EXTRAS" ]; then
  echo "==> $VENV was not made for spot-lab[$EXTRAS]: recreating it"
  "$PYTHON" -m venv --clear "$VENV"
elif [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
echo "$EXTRAS" >"$VENV/spot-lab-extras"
export PATH="$ROOT/$VENV/bin:$PATH"  # jlpm (from jupyterlab) must be found by the build hook
# Build tools first (setuptools/wheel build sdists such as pyspark): build isolation is off
# below so the labextension build (hatch-jupyter-builder -> jlpm) uses these instead of
# fetching them again.
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q setuptools wheel "hatchling>=1.21" "hatch-jupyter-builder>=0.9" "hatch-nodejs-version>=0.3.2" "jupyterlab>=4.2,<5"
# DB-IP City Lite for spot-lab[geo]: the spot-lab-dbip-city wheel, built from geo-data/
# (released beside spot-lab; from a checkout it is found in geo-data/dist).
bash scripts/build-geo-data.sh "$VENV/bin/python"
echo "==> installing spot-lab[$EXTRAS] into $VENV (builds the JupyterLab extension with jlpm, ~1 min the first time)"
"$VENV/bin/pip" install -q --no-build-isolation --find-links geo-data/dist -e ".[$EXTRAS]"
