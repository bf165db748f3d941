#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: Python venv with q2c installed, and the Kafka broker jars.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.q2c-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev,bench]'
  touch "$stamp"
fi
if [ -z "${Q2C_BOOTSTRAP_SERVERS:-}" ] && { ! ls deploy/kafka/target/lib/kafka_2.13-*.jar >/dev/null 2>&1 ||
  ! ls deploy/kafka/target/lib/kafka-tools-[0-9]*.jar >/dev/null 2>&1; }; then
  command -v mvn >/dev/null || { echo "Maven (mvn) is needed to fetch the Kafka jars" >&2; exit 1; }
  (cd deploy/kafka && mvn -q -B dependency:copy-dependencies)
fi
scripts/install_stripe_mock.sh
