"""`q2c run`: start one engine worker in the foreground."""

from __future__ import annotations

import asyncio
import logging
import socket

import typer

from engine.runtime.app import Engine
from engine.settings import SettingsError, load_settings


def run(
    worker_id: str = typer.Option(socket.gethostname(), help="name of this worker in logs"),
    log_level: str = typer.Option("INFO", help="logging level"),
) -> None:
    """Run a saga worker: joins the group, processes until SIGTERM, then commits and leaves."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    asyncio.run(Engine(settings, worker_id=worker_id).run_until_stopped())
