#!/usr/bin/env bash
# Installs Stripe's official API mock server (a Go module) into .venv/bin, pinned, idempotent.
# The Stripe connector's tests run against it (engine/emulators/stripe_mock.py).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=v0.203.0
BIN=.venv/bin/stripe-mock
STAMP=.venv/.stripe-mock-$VERSION
if [ -x "$BIN" ] && [ -f "$STAMP" ]; then
  exit 0
fi
command -v go >/dev/null || { echo "Go is needed to install stripe-mock $VERSION" >&2; exit 1; }
GOBIN="$(pwd)/.venv/bin" go install "github.com/stripe/stripe-mock@$VERSION"
touch "$STAMP"
