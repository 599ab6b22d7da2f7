#!/usr/bin/env bash
# Quick start (1): install, generate + score the demo lake if absent, open JupyterLab on
# notebooks/demo.ipynb. Extra arguments go to `spot-lab demo` (e.g. --execute, --port 9999).
set -euo pipefail
. "$(dirname "$0")/setup-env.sh" all  # .venv: spot-lab[all], no test packages
exec spot-lab demo "$@"
