#!/usr/bin/env bash
# The whole test suite: set-up, lint, type check, then pytest against a real Kafka broker.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# Tools some tests drive: promtool (alert rules) and Chromium + chromedriver (status page).
# Installed once, from Debian's packages; when that is impossible those tests fail under CI
# and skip elsewhere, each saying why.
need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${need[@]}" >/dev/null) || echo "could not install ${need[*]}" >&2
  else
    echo "missing ${need[*]} (install as root: apt-get install ${need[*]})" >&2
  fi
fi
# kustomize (renders deploy/k8s for tests/unit/test_k8s_manifests.py): the official module,
# pinned, from the Go module proxy; kubectl's built-in kustomize serves when Go is missing.
if [ ! -x .venv/bin/kustomize ] && command -v go >/dev/null; then
  GOBIN="$PWD/.venv/bin" go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0 ||
    echo "could not install kustomize" >&2
fi
.venv/bin/ruff check engine tests
.venv/bin/ruff format --check engine tests
.venv/bin/mypy
.venv/bin/pytest "$@"
