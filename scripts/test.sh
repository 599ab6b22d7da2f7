#!/usr/bin/env bash
# Quick start (2): install everything the tests need on a fresh Debian machine, then run
# every test: Python lint/format, TypeScript lint/format, the TypeScript unit tests, and
# pytest (unit, real DuckDB lake, real Spark Thrift Server, real Chromium browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium chromium-driver)
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v node >/dev/null || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

. scripts/setup-env.sh test

echo "==> ruff (lint + format)"
ruff check spot_lab tests bench scripts
ruff format --check spot_lab tests bench scripts

echo "==> eslint + prettier, TypeScript unit tests"
jlpm run lint:check
jlpm run test

echo "==> pytest"
export CI="${CI:-true}"
pytest "$@"
