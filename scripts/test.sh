#!/usr/bin/env bash
# The whole test suite: set-up, lint, type check, then pytest against a real Kafka broker.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/ruff check engine tests
.venv/bin/ruff format --check engine tests
.venv/bin/mypy
.venv/bin/pytest "$@"
