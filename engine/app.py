"""The composition root: how each long-running q2c process is put together from its settings.

- `worker_engine` is `q2c run`'s process: the saga worker, the account validator and the
  worker's HTTP side (read API, operator actions, status page, probes, metrics), all on one
  `KafkaConnection` built here.
- `serve_gateway` is `q2c gateway`'s process: the platforms' webhook routes in front of the
  native store. The store resolves the brokers when it first sends, so the gateway starts, and
  reports itself not ready, while Kafka is unreachable.

The CLI commands check settings, configure logging and call these; the demo and the tests
start `Engine`s directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.kafka.connection import KafkaConnection
from engine.runtime.app import Engine
from engine.runtime.worker import Clock, system_clock
from engine.settings import Settings

if TYPE_CHECKING:
    from engine.connectors.settings import ConnectorSettings


def worker_engine(
    settings: Settings,
    connection: KafkaConnection | None = None,
    *,
    worker_id: str = "worker",
    http: bool | None = None,
) -> Engine:
    """The worker process (see `Engine`); `connection` is built from `settings` when not given.
    With `Q2C_SIM_CLOCK` its timers run on that simulated clock (a demo's worker process)."""
    clock: Clock = system_clock
    if settings.sim_clock:
        from engine.simulators.clock import SimClock

        clock = SimClock.from_spec(settings.sim_clock)
    return Engine(
        settings,
        clock=clock,
        worker_id=worker_id,
        http=http,
        connection=connection or KafkaConnection.from_settings(settings),
    )


async def serve_gateway(
    settings: Settings,
    connectors: ConnectorSettings,
    host: str,
    port: int,
    *,
    on_listening: Callable[[int], None] = lambda port: None,
) -> None:
    """Serve the gateway until SIGTERM/SIGINT, then finish open requests and disconnect.

    `on_listening` learns the bound port once the server accepts requests.
    """
    # Imported here: the worker process does not load the connectors' stack.
    from engine.api.server import HttpServer
    from engine.gateway.app import create_gateway
    from engine.gateway.audit import refusal_ledger
    from engine.gateway.store import NativeStore

    store = NativeStore(settings, connectors.store_timeout_s)
    refusals = refusal_ledger(settings, connectors)
    app = create_gateway(store, connectors, settings.topic_prefix, refusals=refusals)
    server = HttpServer(app, host, port, operator_guard=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
        refusals.start()
        assert server.port is not None  # bound by start()
        on_listening(server.port)
        await stop.wait()
    finally:
        await server.stop()
        await refusals.close()
        await store.stop()
        for sig in signals:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
