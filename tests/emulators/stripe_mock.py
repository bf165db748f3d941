"""Runs Stripe's official stripe-mock (installed by scripts/install_stripe_mock.sh) on loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

START_TIMEOUT_S = 20.0


def binary(repo_root: Path) -> Path:
    return repo_root / ".venv" / "bin" / "stripe-mock"


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
def stripe_mock(repo_root: Path, log_path: Path) -> Iterator[str]:
    """Start stripe-mock on a free loopback port; yields its base URL; stops it by pid."""
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(binary(repo_root)), "-http-addr", f"127.0.0.1:{port}"],
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
