"""Ports for CLI failure tests: one nobody listens on, one that accepts and never answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def q2c(
    *args: str, env: dict[str, str], timeout: float = 90, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `q2c ARGS` as a user would (a fresh process), with only `env`'s Q2C_ variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("Q2C_")}
    return subprocess.run(
        [sys.executable, "-m", "engine.cli.main", *args],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,  # a hang guard, not a timing assertion
        input=stdin,
        check=False,
    )
