"""`run_stoppable`: `asyncio.run` for commands that start brokers, workers or emulators.

Python's default SIGTERM ends the process at once, skipping every `finally`, so `kill <pid>` of
a chaos run, a soak, a demo or a bench would leave the brokers and workers it started running.
Here SIGTERM cancels the run as Ctrl-C does: the coroutine's own clean-up stops each process by
its pid, then the command exits 143 (128 + SIGTERM) with one line saying so.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

import typer

T = TypeVar("T")
EXIT_TERMINATED = 128 + signal.SIGTERM


class _Terminated(Exception):
    """SIGTERM arrived while the run was in progress."""


async def _cancel_on_sigterm(run: Coroutine[Any, Any, T]) -> T:
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(run)
    terminated = False

    def on_sigterm() -> None:
        nonlocal terminated
        terminated = True
        task.cancel()

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        return await task
    except asyncio.CancelledError:
        if terminated:
            raise _Terminated from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def run_stoppable(run: Coroutine[Any, Any, T], what: str) -> T:
    """Run `run` to completion; on SIGTERM, cancel it, let it clean up and exit 143."""
    try:
        return asyncio.run(_cancel_on_sigterm(run))
    except _Terminated:
        typer.echo(
            f"error: {what} stopped by SIGTERM; the processes it started were stopped", err=True
        )
        raise typer.Exit(EXIT_TERMINATED) from None
