#!/usr/bin/env bash
# Build the q2c image from the Containerfile without a container registry, then smoke-run it.
#
#   1. dist/wheels/: the q2c wheel (`python -m build`) and its dependencies (`pip wheel`);
#   2. a Debian bookworm rootfs from Debian packages (mmdebstrap: python3, python3-venv),
#      imported with buildah as localhost/q2c-base:bookworm (built once, reused);
#   3. `buildah bud` of the same Containerfile with BASE=localhost/q2c-base:bookworm;
#   4. smoke: `q2c --version` in the image, then a worker in the image against a broker on
#      the host's loopback (started here and stopped again): one published closed-won must
#      come out as a validate-account command, the HEALTHCHECK command must pass, and SIGTERM
#      must stop the worker with exit code 0.
#
# Needs root and: apt-get install mmdebstrap buildah crun (the script installs them when
# missing). Environment: Q2C_IMAGE (default localhost/q2c:latest), Q2C_IMAGE_WORK (scratch
# folder, default /var/tmp/q2c-image), BUILDAH_ISOLATION (default chroot: OCI runtimes fail
# in sandboxes whose cgroups are in hybrid mode), STORAGE_DRIVER (default vfs: works without
# overlay mounts). Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${Q2C_IMAGE:-localhost/q2c:latest}
BASE_IMAGE=localhost/q2c-base:bookworm
WORK=${Q2C_IMAGE_WORK:-/var/tmp/q2c-image}
export BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
mkdir -p "$WORK"

need=()
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v buildah >/dev/null || need+=(buildah crun)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${need[@]}" >/dev/null
fi
scripts/bootstrap.sh

echo "== wheels" >&2
rm -rf dist/wheels && mkdir -p dist/wheels
.venv/bin/python -m build --no-isolation --wheel --outdir dist/wheels . >"$WORK/build.log"
.venv/bin/pip wheel -q --disable-pip-version-check --wheel-dir dist/wheels dist/wheels/q2c-*.whl

echo "== base image $BASE_IMAGE" >&2
if ! buildah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
  # No docs, man pages or translations: nobody reads them in a worker image.
  mmdebstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    bookworm "$WORK/rootfs.tar" >"$WORK/mmdebstrap.log" 2>&1
  base=$(buildah from scratch)
  buildah add --quiet "$base" "$WORK/rootfs.tar" /
  buildah config --cmd /bin/sh "$base"
  buildah commit --quiet --rm "$base" "$BASE_IMAGE" >/dev/null
fi

echo "== image $IMAGE" >&2
buildah bud --quiet --format docker --pull=false --build-arg "BASE=$BASE_IMAGE" \
  -f Containerfile -t "$IMAGE" . >/dev/null
buildah images "$IMAGE"

echo "== smoke" >&2
ctr=$(buildah from --quiet "$IMAGE")
cluster=image-smoke
worker_pid=
# `buildah run` (chroot isolation) -> buildah-chroot-exec -> python: every pid in that tree.
tree() {
  local pid=$1 child
  for child in $(pgrep -P "$pid" || true); do tree "$child"; done
  echo "$pid"
}
cleanup() {
  if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
    for pid in $(tree "$worker_pid"); do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  .venv/bin/q2c kafka stop --name "$cluster" --purge >/dev/null 2>&1 || true
  buildah rm "$ctr" >/dev/null
}
trap cleanup EXIT
buildah run "$ctr" -- q2c --version

bootstrap=$(.venv/bin/q2c kafka start --name "$cluster" 2>/dev/null)
prefix="img$(date +%s)."
export Q2C_BOOTSTRAP_SERVERS=$bootstrap Q2C_TOPIC_PREFIX=$prefix Q2C_GROUP_ID=${prefix}workers
.venv/bin/q2c topics apply >/dev/null
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# chroot isolation shares the host's network: the broker is on 127.0.0.1 for the worker too.
buildah run --env "Q2C_BOOTSTRAP_SERVERS=$bootstrap" --env "Q2C_TOPIC_PREFIX=$prefix" \
  --env "Q2C_GROUP_ID=${prefix}workers" --env "Q2C_HTTP_PORT=$port" \
  "$ctr" -- q2c run --worker-id image-smoke >"$WORK/worker.log" 2>&1 &
worker_pid=$!
.venv/bin/q2c publish --type closed-won --file tests/fixtures/events/closed-won.json
.venv/bin/python - <<'PY'
import asyncio, time
from engine.contracts.commands import ValidateAccount
from engine.settings import load_settings
from tests.integration.engine_support import read_commands

settings = load_settings()
for _ in range(90):  # bounded: about 90 s
    found = [c for c in asyncio.run(read_commands(settings)) if isinstance(c, ValidateAccount)]
    if found:
        print(f"worker in the image emitted validate-account for {found[0].deal_id}")
        break
    time.sleep(1)
else:
    raise SystemExit("no validate-account command from the worker in the image")
PY
healthcheck=$(buildah inspect --type image --format '{{.Docker.Config.Healthcheck.Test}}' "$IMAGE")
echo "healthcheck: $healthcheck" >&2
buildah run --env "Q2C_HTTP_PORT=$port" "$ctr" -- python3 -c \
  "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ['Q2C_HTTP_PORT'], timeout=2)"
echo "HEALTHCHECK command passes against the running worker" >&2
# SIGTERM straight to the q2c process, as a container runtime sends it to PID 1: `buildah run`
# does not pass SIGTERM on (with chroot isolation it kills its child instead).
q2c_pid=$(tree "$worker_pid" | head -1)
echo "SIGTERM to pid $q2c_pid: $(tr '\0' ' ' </proc/"$q2c_pid"/cmdline)" >&2
kill -TERM "$q2c_pid"
for _ in $(seq 60); do kill -0 "$worker_pid" 2>/dev/null || break; sleep 1; done
wait "$worker_pid" && code=0 || code=$?
echo "worker exit code after SIGTERM: $code" >&2
[ "$code" = 0 ] || { tail -20 "$WORK/worker.log" >&2; exit 1; }
buildah images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$IMAGE"
