#!/usr/bin/env bash
# Install the gateway and its test tools into .venv, lint and type-check, and run the whole suite
# against the PostgreSQL and Redis at GATEWAY_TEST_DATABASE_URL / GATEWAY_TEST_REDIS_URL
# (default: the local servers on 127.0.0.1:5432 as user postgres, and 127.0.0.1:6379).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python.sh
venv=$(ensure_venv "[test]")
"$venv/bin/ruff" check .
"$venv/bin/mypy"
"$venv/bin/python" -m pytest "$@"
