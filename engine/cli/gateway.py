"""`q2c gateway`: serve the platforms' webhook routes (store first, translate later)."""

from __future__ import annotations

import asyncio

import typer

from engine.app import serve_gateway
from engine.cli.preflight import open_keyset
from engine.connectors.settings import ConnectorSettings
from engine.observability.logging import configure_logging
from engine.settings import SettingsError, load_settings


def gateway(
    host: str = typer.Option(None, help="listen address (default Q2C_HTTP_HOST)"),
    port: int = typer.Option(None, help="listen port (default Q2C_HTTP_PORT)"),
    log_level: str = typer.Option("INFO", help="logging level"),
) -> None:
    """Run the webhook gateway: POST /ingest/<platform route>, /health, /ready, /metrics.

    Secrets come from Q2C_CONNECTOR_* settings (see the README, "Connecting your platforms").
    """
    configure_logging(log_level, json_lines=True, worker_id="gateway")
    open_keyset()
    try:
        settings = load_settings()
        connectors = ConnectorSettings()
    except (SettingsError, ValueError) as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    host = host or settings.http_host
    asyncio.run(
        serve_gateway(
            settings,
            connectors,
            host,
            port if port is not None else settings.http_port,
            on_listening=lambda bound: typer.echo(
                f"gateway listening on http://{host}:{bound}/ingest/<route>"
            ),
        )
    )
