"""Runs Stripe's official stripe-mock (installed by scripts/install_stripe_mock.sh) on loopback."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

START_TIMEOUT_S = 20.0
NAME = "stripe-mock"
INSTALL_HINT = (
    "scripts/install_stripe_mock.sh, or "
    "`GOBIN=<dir on PATH> go install github.com/stripe/stripe-mock@v0.203.0`"
)


def binary(repo_root: Path) -> Path:
    """Where scripts/install_stripe_mock.sh puts it in a checkout."""
    return repo_root / ".venv" / "bin" / NAME


def find_binary() -> Path | None:
    """stripe-mock beside this Python (the checkout's or an installed venv's), else on PATH."""
    beside = Path(sys.executable).with_name(NAME)
    if beside.is_file():
        return beside
    found = shutil.which(NAME)
    return Path(found) if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def stripe_mock(executable: Path, log_path: Path) -> Iterator[str]:
    """Start stripe-mock on a free loopback port; yields its base URL; stops it by pid."""
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            # stripe-mock also serves HTTPS, on :12112 unless told otherwise: any free port,
            # so a second stripe-mock on the machine does not make this one exit.
            [str(executable), "-http-addr", f"127.0.0.1:{port}", "-https-addr", "127.0.0.1:"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _accepts(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"stripe-mock did not start; see {log_path}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
