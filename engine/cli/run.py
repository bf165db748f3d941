"""`q2c run`: start one engine worker in the foreground."""

from __future__ import annotations

import asyncio
import socket

import typer

from engine.observability.logging import configure_logging
from engine.observability.tracing import configure_tracing
from engine.runtime.app import Engine
from engine.settings import SettingsError, load_settings


def run(
    worker_id: str = typer.Option(socket.gethostname(), help="name of this worker in logs"),
    log_level: str = typer.Option("INFO", help="logging level"),
    log_format: str = typer.Option("json", help="json (one object per line) or text"),
    http: bool = typer.Option(
        True, help="serve /metrics, /health, /ready, the API and the status page"
    ),
) -> None:
    """Run a saga worker: joins the group, processes until SIGTERM, then commits and leaves.

    HTTP listens on Q2C_HTTP_HOST:Q2C_HTTP_PORT (default 127.0.0.1:8080).
    """
    configure_logging(log_level, json_lines=log_format != "text", worker_id=worker_id)
    configure_tracing()
    try:
        settings = load_settings()
        # Connection security and API token files are checked here too: one line, no traceback.
        engine = Engine(settings, worker_id=worker_id, http=http)
        asyncio.run(engine.run_until_stopped())
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
