"""`kill <pid>` of a command that started processes (chaos, soak, demo, bench) stops them too:
SIGTERM cancels the run, its clean-up stops its children, and it exits 143 with one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import asyncio, subprocess, sys
    import typer
    from engine.cli.stoppable import run_stoppable

    async def run():
        child = subprocess.Popen(["sleep", "300"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(child.pid, flush=True)
        try:
            await asyncio.sleep(300)
        finally:
            child.terminate()
            child.wait(10)

    try:
        run_stoppable(run(), "the test run")
    except typer.Exit as exc:  # what the typer app turns into the exit code
        sys.exit(exc.exit_code)
    """
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_sigterm_stops_the_children_and_exits_143() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        assert alive(child)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143
    assert err.strip().splitlines() == [
        "error: the test run stopped by SIGTERM; the processes it started were stopped"
    ]
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)
