"""The gateway and the translator inside a worker process (`q2c run --with-gateway`).

The same objects `q2c gateway` and `q2c translate` run alone: the gateway serves its own
port (`Q2C_CONNECTOR_GATEWAY_PORT`, the worker's API keeps `Q2C_HTTP_PORT`) and the
translator keeps its own consumer group, so moving either out to its own process later
changes nothing for the platforms or the sagas. A translator that fails stops the worker:
the process exits non-zero and its orchestrator restarts it, rather than running on while
native events pile up untranslated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from engine.api.server import HttpServer
from engine.connectors.settings import ConnectorSettings
from engine.connectors.translator import Translator
from engine.gateway.app import create_gateway
from engine.gateway.audit import refusal_ledger
from engine.gateway.store import NativeStore
from engine.lifecycle import AsyncStartStop
from engine.runtime.app import Engine
from engine.settings import Settings

log = logging.getLogger("q2c.gateway")
STOP_TIMEOUT_S = 60.0


class Beside(AsyncStartStop):
    """An optional gateway and an optional translator, started and stopped with a worker."""

    def __init__(
        self,
        settings: Settings,
        connectors: ConnectorSettings,
        *,
        gateway_port: int | None,
        translator: Translator | None,
        on_failure: Callable[[], None],
    ) -> None:
        """`gateway_port`: serve the gateway there (0: any free port; None: no gateway).
        `on_failure`: called when the translator fails (stops the worker)."""
        self.settings = settings
        self.translator = translator
        self._on_failure = on_failure
        self._store: NativeStore | None = None
        self.server: HttpServer | None = None
        self._refusals = refusal_ledger(settings, connectors)
        if gateway_port is not None:
            self._store = NativeStore(settings, connectors.store_timeout_s)
            self.server = HttpServer(
                create_gateway(
                    self._store, connectors, settings.topic_prefix, refusals=self._refusals
                ),
                settings.http_host,
                gateway_port,
                operator_guard=False,
            )
        self._task: asyncio.Task[None] | None = None

    @property
    def gateway_port(self) -> int | None:
        """The port the gateway listens on (None without a gateway)."""
        return None if self.server is None else self.server.port

    async def start(self) -> None:
        if self.translator is not None:
            self._task = asyncio.create_task(self.translator.run(), name="translator")
            self._task.add_done_callback(self._ended)
        if self.server is not None:
            await self.server.start()
            self._refusals.start()
            log.info(
                "gateway listening on http://%s:%s/ingest/<route>",
                self.settings.http_host,
                self.server.port,
            )

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "translator stopped: %s; stopping the worker", type(task.exception()).__name__
            )
            self._on_failure()

    async def stop(self) -> None:
        """Stop taking requests first, then let the translator finish its batch."""
        if self.server is not None:
            await self.server.stop()
            await self._refusals.close()
        if self._store is not None:
            await self._store.stop()
        if self.translator is not None and self._task is not None:
            self.translator.request_stop()
            # A failed translator's error is `failure()`'s to report, not stop's to raise.
            done, _ = await asyncio.wait({self._task}, timeout=STOP_TIMEOUT_S)
            if not done:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

    def failure(self) -> BaseException | None:
        """The translator's own failure, if it had one."""
        task = self._task
        if task is None or not task.done() or task.cancelled():
            return None
        return task.exception()


async def run_with(engine: Engine, beside: Beside) -> None:
    """Run `engine` in the foreground with `beside`; raises the translator's failure."""
    await beside.start()
    try:
        await engine.run_until_stopped()
    finally:
        await beside.stop()
    failure = beside.failure()
    if failure is not None:
        raise failure
