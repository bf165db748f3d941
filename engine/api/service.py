"""Wires the HTTP surface to a running engine: state source, operations, auth, server."""

from __future__ import annotations

import logging

from engine.api.app import ApiContext, create_app
from engine.api.auth import TokenAuthority
from engine.api.config import ApiSettings
from engine.api.operations import KafkaOperations
from engine.api.reads import ReadLedger
from engine.api.server import HttpServer
from engine.api.sources import StateMap, WorkerStates
from engine.runtime.inspect import read_all_states
from engine.runtime.worker import Worker
from engine.settings import Settings

log = logging.getLogger("q2c.http")


class WorkerHttp:
    """The HTTP server of one worker; start/stop with the engine."""

    def __init__(self, settings: Settings, worker: Worker, api: ApiSettings | None = None) -> None:
        api = api or ApiSettings()
        self.operations = KafkaOperations(settings, worker.connection)
        options = worker.connection.options()

        async def changelog() -> StateMap:
            return await read_all_states(options, worker.names.state)

        if not (api.viewer_tokens or api.operator_tokens):
            log.warning("no Q2C_API_*_TOKENS set: the read API refuses every call (401)")
        self.context = ApiContext(
            states=WorkerStates(worker, changelog),
            operations=self.operations,
            authority=TokenAuthority(api.viewer_tokens, api.operator_tokens),
            clock=worker.clock,
            worker_id=worker.worker_id,
            partitions=lambda: sorted(worker.tasks),
            reads=ReadLedger(self.operations.audit, api.api_read_audit_interval_s),
        )
        self.server = HttpServer(
            create_app(self.context), settings.http_host, settings.http_port, api
        )

    @property
    def port(self) -> int | None:
        """The bound port (also when Q2C_HTTP_PORT=0 asked for an ephemeral one)."""
        return self.server.port

    async def start(self) -> None:
        await self.server.start()
        self.context.reads.start()

    async def stop(self) -> None:
        await self.server.stop()
        await self.context.reads.close()  # the last reads' summary, before the producer goes
        await self.operations.close()
