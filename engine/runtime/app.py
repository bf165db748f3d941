"""One engine process: the saga worker plus the account validator, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib

from engine.kafka.connection import client_options
from engine.masterdata.responder import AccountValidator
from engine.runtime.worker import Clock, Worker, system_clock
from engine.settings import Settings


class Engine:
    """What `q2c run` runs; tests and the demo start several of these in one event loop."""

    def __init__(
        self, settings: Settings, *, clock: Clock = system_clock, worker_id: str = "worker"
    ) -> None:
        self.settings = settings
        self.worker = Worker(settings, clock=clock, worker_id=worker_id)
        self.validator = AccountValidator(self.worker.names, settings.group_id)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start in the background; returns once the validator's tables are loaded."""
        await self.validator.start(client_options(self.settings))
        self._task = asyncio.create_task(self.worker.run())

    async def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Until the worker holds at least one task (partitions assigned and restored)."""
        await asyncio.wait_for(self.worker.ready.wait(), timeout_s)

    async def stop(self) -> None:
        """Graceful: finish the batch in flight, commit, leave the group."""
        self.worker.request_stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.validator.stop()

    async def run_until_stopped(self) -> None:
        """Run in the foreground until SIGTERM/SIGINT."""
        await self.start()
        self.worker.install_signal_handlers()
        assert self._task is not None
        try:
            await self._task
        finally:
            await self.validator.stop()
