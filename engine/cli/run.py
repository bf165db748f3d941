"""`q2c run`: start one engine worker in the foreground."""

from __future__ import annotations

import asyncio
import socket
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from engine.api.config import ApiSettings
from engine.app import worker_engine
from engine.cli.preflight import check_ready
from engine.installation import check_installation
from engine.kafka.connection import KafkaConnection
from engine.observability.logging import configure_logging
from engine.observability.metrics_labels import export_known_labels
from engine.observability.tracing import configure_tracing
from engine.settings import Settings, load_settings

if TYPE_CHECKING:
    from engine.gateway.beside import Beside
    from engine.runtime.app import Engine


class LogFormat(StrEnum):
    """How `q2c run` writes its log lines."""

    auto = "auto"  # text on a terminal, JSON lines otherwise (a file, a pipe, a collector)
    json = "json"
    text = "text"


def json_logs(fmt: LogFormat, path: Path | None) -> bool:
    """Whether to write JSON lines: always to a file, and to stderr unless a person reads it."""
    if fmt is not LogFormat.auto:
        return fmt is LogFormat.json
    return path is not None or not sys.stderr.isatty()


def run(
    worker_id: str = typer.Option(socket.gethostname(), help="name of this worker in logs"),
    log_level: str = typer.Option("INFO", envvar="Q2C_LOG_LEVEL", help="logging level"),
    log_format: Annotated[
        LogFormat,
        typer.Option(
            envvar="Q2C_LOG_FORMAT",
            help="json (one object per line), text, or auto: text on a terminal, else json",
        ),
    ] = LogFormat.auto,
    log_file: Annotated[
        Path | None,
        typer.Option(envvar="Q2C_LOG_FILE", help="append logs to this file instead of stderr"),
    ] = None,
    http: bool = typer.Option(
        True, help="serve /metrics, /health, /ready, the API and the status page"
    ),
    with_gateway: bool = typer.Option(
        False,
        "--with-gateway",
        envvar="Q2C_WITH_GATEWAY",
        help="also serve the platforms' webhook gateway on Q2C_CONNECTOR_GATEWAY_PORT "
        "(default 8081) and run the translator in this process",
    ),
    with_translator: bool = typer.Option(
        False,
        "--with-translator",
        envvar="Q2C_WITH_TRANSLATOR",
        help="run the translator (native events -> canonical) in this process, in its own "
        "consumer group, as `q2c translate` would",
    ),
) -> None:
    """Run a saga worker: joins the group, processes until SIGTERM, then commits and leaves.

    HTTP listens on Q2C_HTTP_HOST:Q2C_HTTP_PORT (default 127.0.0.1:8080).
    Checks first that the settings are valid, the broker answers and the catalog's topics
    exist; each failure is one line (see the README's exit codes). `--with-gateway` adds the
    gateway and the translator (README, "Connecting your platforms").
    """
    settings = load_settings()
    api = ApiSettings()  # a bad Q2C_HTTP_ENABLED / token setting fails here, not inside the worker
    # Settings that fail without any connection come first: a missing password or token file
    # is a usage error (exit 2), whether or not the broker answers.
    connection = KafkaConnection.from_settings(settings)
    _ = api.viewer_tokens, api.operator_tokens
    check_installation()
    check_ready(settings)
    configure_logging(
        log_level, json_lines=json_logs(log_format, log_file), path=log_file, worker_id=worker_id
    )
    configure_tracing()
    export_known_labels()  # alert rules need a 0 before the first dead letter
    engine = worker_engine(settings, connection, worker_id=worker_id, http=http)
    if not (with_gateway or with_translator):
        asyncio.run(engine.run_until_stopped())
        return
    # Imported here: a plain worker does not load the connectors' stack.
    from engine.gateway.beside import run_with

    asyncio.run(run_with(engine, _beside(settings, engine, with_gateway)))


def _beside(settings: Settings, engine: Engine, with_gateway: bool) -> Beside:
    """The gateway (if asked) and the translator; a bad mapping or secret is exit 2."""
    from engine.cli.translate import exit_2_on_bad_configuration
    from engine.connectors.settings import ConnectorSettings
    from engine.connectors.translator import configured_translator
    from engine.gateway.beside import Beside

    with exit_2_on_bad_configuration():
        connectors = ConnectorSettings()
        translator = configured_translator(settings)
    return Beside(
        settings,
        connectors,
        gateway_port=connectors.gateway_port if with_gateway else None,
        translator=translator,
        on_failure=engine.worker.request_stop,
    )
