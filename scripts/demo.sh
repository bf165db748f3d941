#!/usr/bin/env bash
# The main job: a local broker, the engine and simulated platforms pushing deals through quote-to-cash.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/q2c demo "$@"
