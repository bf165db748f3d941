"""`q2c gateway`: serve the platforms' webhook routes (store first, translate later)."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import typer

from engine.api.server import HttpServer
from engine.connectors.settings import ConnectorSettings
from engine.gateway.app import create_gateway
from engine.gateway.store import NativeStore
from engine.observability.logging import configure_logging
from engine.settings import Settings, SettingsError, load_settings


async def serve(settings: Settings, connectors: ConnectorSettings, host: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT, then finish open requests and disconnect."""
    store = NativeStore(settings, connectors.store_timeout_s)
    server = HttpServer(
        create_gateway(store, connectors, settings.topic_prefix), host, port, operator_guard=False
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await server.start()
    typer.echo(f"gateway listening on http://{host}:{server.port}/ingest/<route>")
    try:
        await stop.wait()
    finally:
        await server.stop()
        await store.stop()


def gateway(
    host: str = typer.Option(None, help="listen address (default Q2C_HTTP_HOST)"),
    port: int = typer.Option(None, help="listen port (default Q2C_HTTP_PORT)"),
    log_level: str = typer.Option("INFO", help="logging level"),
) -> None:
    """Run the webhook gateway: POST /ingest/<platform route>, /health, /ready, /metrics.

    Secrets come from Q2C_CONNECTOR_* settings (see the README, "Connecting your platforms").
    """
    configure_logging(log_level, json_lines=True, worker_id="gateway")
    try:
        settings = load_settings()
        connectors = ConnectorSettings()
    except (SettingsError, ValueError) as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    asyncio.run(
        serve(
            settings,
            connectors,
            host or settings.http_host,
            port if port is not None else settings.http_port,
        )
    )
