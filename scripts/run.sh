#!/usr/bin/env bash
# Install the gateway into .venv and run everything: `gateway up`.
# With no GATEWAY_DATABASE_URL / GATEWAY_REDIS_URL it embeds PostgreSQL and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python.sh
venv=$(ensure_venv)
exec "$venv/bin/gateway" up "$@"
