"""One engine process: the saga worker plus the account validator, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from engine.kafka.connection import KafkaConnection
from engine.masterdata.responder import AccountValidator
from engine.runtime.worker import Clock, Worker, system_clock
from engine.settings import Settings

if TYPE_CHECKING:
    from engine.api.service import WorkerHttp

log = logging.getLogger("q2c.engine")


class Engine:
    """What `q2c run` runs; tests and the demo start several of these in one event loop."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = system_clock,
        worker_id: str = "worker",
        http: bool | None = None,
        connection: KafkaConnection | None = None,
    ) -> None:
        """`http`: serve /metrics, /health, /ready, the API and the status page on
        Q2C_HTTP_HOST:Q2C_HTTP_PORT; None follows Q2C_HTTP_ENABLED (default on).
        `connection`: the process's (built from `settings` when not given); the worker, the
        validator and the HTTP side share it."""
        self.settings = settings
        self.connection = connection or KafkaConnection.from_settings(settings)
        self.worker = Worker(settings, clock=clock, worker_id=worker_id, connection=self.connection)
        self.validator = AccountValidator(settings, self.connection)
        self._task: asyncio.Task[None] | None = None
        self._http_wanted = http
        self.http: WorkerHttp | None = None

    async def start(self) -> None:
        """Start in the background; returns once the validator's tables are loaded."""
        await self._start_http()
        try:
            await self.validator.start()
        except BaseException:
            await self._stop_http()
            raise
        self._task = asyncio.create_task(self.worker.run())

    async def _start_http(self) -> None:
        # Imported here: an engine without HTTP does not load the web stack.
        from engine.api.config import ApiSettings
        from engine.api.service import WorkerHttp

        api = ApiSettings()
        if not (api.http_enabled if self._http_wanted is None else self._http_wanted):
            return
        http = WorkerHttp(self.settings, self.worker, api)
        try:
            await http.start()
        except OSError as exc:
            # Processing matters more than the HTTP surface: keep running; the failing
            # readiness probe (nothing listens) makes the problem visible.
            log.error(
                "HTTP not served: cannot bind %s:%s (%s)",
                self.settings.http_host,
                self.settings.http_port,
                exc.strerror or exc,
            )
            await http.operations.close()
            return
        self.http = http

    @property
    def http_port(self) -> int | None:
        """The port the HTTP server listens on (None when not serving)."""
        return self.http.port if self.http is not None else None

    async def _stop_http(self) -> None:
        if self.http is not None:
            http, self.http = self.http, None
            await http.stop()

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
        await self._stop_http()

    async def run_until_stopped(self) -> None:
        """Run in the foreground until SIGTERM/SIGINT."""
        await self.start()
        self.worker.install_signal_handlers()
        assert self._task is not None and self.validator.task is not None
        try:
            await asyncio.wait(
                {self._task, self.validator.task}, return_when=asyncio.FIRST_COMPLETED
            )
            if not self._task.done():
                # The validator died: exit (non-zero, raised by validator.stop below) so the
                # orchestrator restarts the process, rather than run on without half its job.
                log.error("account validator stopped; stopping the worker")
                self.worker.request_stop()
            await self._task  # raises the worker's own failure, if it had one
        finally:
            await self.validator.stop()
            await self._stop_http()
