"""`q2c publish --type closed-won --file deal.json`: validate a JSON event and publish it."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from engine.contracts.builders import event_from_dict
from engine.contracts.events import Event
from engine.contracts.validation import ContractError
from engine.installation import IncompleteInstallation, check_installation
from engine.kafka.connection import NoBrokerError
from engine.publisher import Publisher
from engine.settings import SettingsError, load_settings

# Exit code for bad input, as click uses for usage errors.
BAD_INPUT = 2


def _read(path: Path) -> Any:
    try:
        # Decimal, not float: amounts must keep their exact cents.
        return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as exc:
        typer.echo(f"cannot read {path}: {exc.strerror}", err=True)
    except json.JSONDecodeError as exc:
        typer.echo(f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", err=True)
    raise typer.Exit(BAD_INPUT)


async def _send(event: Event) -> str:
    async with Publisher(load_settings()) as pub:
        meta = await pub.publish(event)
    return f"{meta.topic} partition {meta.partition} offset {meta.offset}"


def publish(
    event_type: Annotated[str, typer.Option("--type", help="event type, e.g. closed-won")],
    file: Annotated[Path, typer.Option("--file", help="JSON file with the event's fields")],
    source_system: Annotated[
        str | None, typer.Option(help="envelope.source_system when the file has none")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="validate only, do not publish")] = False,
) -> None:
    """Validate a JSON event against its contract and publish it (exit 2 on a bad file).

    Missing envelope fields get defaults (new event_id, occurred_at now, schema_version 1).
    """
    data = _read(file)
    try:
        event = event_from_dict(event_type, data, source_system=source_system)
    except ContractError as exc:
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(BAD_INPUT) from None
    if dry_run:
        typer.echo(f"valid {event_type} (event_id {event.envelope.event_id})")
        return
    try:
        check_installation()
        where = asyncio.run(_send(event))
    except (NoBrokerError, SettingsError, IncompleteInstallation) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"published {event_type} {event.envelope.event_id} to {where}")
