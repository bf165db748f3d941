"""`q2c connectors list|run|poll-oracle`: the connectors that carry commands to the platforms,
and the Oracle receivables poller."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable

import typer

from engine.cli.preflight import open_keyset
from engine.connectors.http import PlatformHttp
from engine.connectors.oracle.poller import ReceivablesPoller, TopicWatermarks
from engine.connectors.oracle.rejects import PollDeadLetters
from engine.connectors.outbound.connector import OutboundConnector
from engine.connectors.outbound.service import (
    FACTORIES,
    ConnectorService,
    connector_for,
    http_config,
)
from engine.kafka.connection import KafkaConnection
from engine.observability.logging import configure_logging
from engine.publisher import Publisher
from engine.settings import Settings, SettingsError, load_settings


def list_platforms() -> None:
    """The platforms and the commands each one handles."""
    for platform, factory in FACTORIES.items():
        commands = sorted(factory.commands)
        typer.echo(f"{platform}: {', '.join(commands)}")


def run(
    crm: str = typer.Option("", help="CRM platform: salesforce or dynamics"),
    erp: str = typer.Option("", help="ERP/PSA platform: netsuite, sap, oracle or certinia"),
    billing: str = typer.Option("", help="billing platform: stripe, netsuite or oracle"),
    log_level: str = typer.Option("INFO", help="logging level"),
) -> None:
    """Consume the chosen targets' commands and call their platforms until SIGTERM.

    Each platform is configured from Q2C_<PLATFORM>_* (BASE_URL, TOKEN_URL, CLIENT_ID,
    CLIENT_SECRET or API_KEY, RATE_PER_S, CONCURRENCY).
    """
    configure_logging(log_level, json_lines=True, worker_id="connectors")
    chosen = {t: p for t, p in {"crm": crm, "erp": erp, "billing": billing}.items() if p}
    if not chosen:
        typer.echo("name at least one of --crm, --erp, --billing", err=True)
        raise typer.Exit(2)
    open_keyset()
    try:
        settings = load_settings()
        connection = KafkaConnection.from_settings(settings)
        assignments: dict[str, list[OutboundConnector]] = {
            target: [connector_for(platform)] for target, platform in chosen.items()
        }
    except (SettingsError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    asyncio.run(_serve(ConnectorService(settings, assignments, connection=connection)))


def poll_oracle(
    interval: float = typer.Option(60.0, min=1.0, help="seconds between polls"),
    log_level: str = typer.Option("INFO", help="logging level"),
) -> None:
    """Poll Oracle receivables (invoices, receipts) into invoice-issued / payment-received.

    Configured from Q2C_ORACLE_* like `q2c connectors run --erp oracle`; the watermark is kept
    in the q2c.billing.poll-watermarks topic, so a restart resumes where the last poll saved.
    A record that cannot become an event goes to q2c.billing.poll-replays.dlq (`q2c dlq list`;
    `q2c dlq replay` has the poller convert it again).
    """
    configure_logging(log_level, json_lines=True, worker_id="oracle-poller")
    open_keyset()
    try:
        settings, config = load_settings(), http_config("oracle")
        connection = KafkaConnection.from_settings(settings)
    except (SettingsError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    asyncio.run(_poll(settings, connection, PlatformHttp(config), interval))


async def _poll(
    settings: Settings, connection: KafkaConnection, http: PlatformHttp, interval: float
) -> None:
    marks = TopicWatermarks(settings, connection)
    dead_letters = PollDeadLetters(settings, connection)
    publisher = Publisher(settings, connection=connection)
    async with http, publisher, marks, dead_letters:
        poller = ReceivablesPoller(http, publisher, marks, dead_letters)
        _stop_on_signals(poller.request_stop)
        await poller.run(interval)


def _stop_on_signals(stop: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop)


async def _serve(service: ConnectorService) -> None:
    _stop_on_signals(service.request_stop)
    async with service:
        await service.run()
