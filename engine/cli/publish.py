"""`q2c publish --type closed-won --file deal.json`: validate a JSON event and publish it."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from engine.cli.errors import BadInput
from engine.cli.placeholders import PlaceholderError, fill
from engine.cli.preflight import check_ready
from engine.contracts.builders import event_from_dict
from engine.contracts.events import Event
from engine.contracts.validation import ContractError
from engine.installation import check_installation
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import Delivered
from engine.publisher import Publisher
from engine.runtime.inspect import read_all_states
from engine.runtime.names import TopicNames
from engine.settings import Settings, load_settings


def _read(path: Path) -> Any:
    try:
        # Decimal, not float: amounts must keep their exact cents.
        return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None


async def _applied_by(settings: Settings, event: Event) -> list[str]:
    """The sagas of the event's key that already applied its event id (they will skip it)."""
    key = event.envelope.correlation_id
    if key is None:
        return []
    states = await read_all_states(
        KafkaConnection.from_settings(settings).options(), TopicNames(settings.topic_prefix).state
    )
    event_id = str(event.envelope.event_id)
    return [
        f"{saga_type} {saga_key}"
        for (saga_type, saga_key), state in sorted(states.items())
        if saga_key == key and event_id in state.seen
    ]


async def _send(settings: Settings, event: Event) -> Delivered:
    async with Publisher(settings) as pub:
        return await pub.publish(event)


def publish(
    event_type: Annotated[str, typer.Option("--type", help="event type, e.g. closed-won")],
    file: Annotated[Path, typer.Option("--file", help="JSON file with the event's fields")],
    source_system: Annotated[
        str | None, typer.Option(help="envelope.source_system when the file has none")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="validate only, do not publish")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="print event id, topic, partition and offset as JSON")
    ] = False,
) -> None:
    """Validate a JSON event against its contract and publish it (exit 2 on a bad file).

    Missing envelope fields get defaults (new event_id, occurred_at now, schema_version 1);
    `@now`, `@today+30d`-style strings become times and dates relative to now.
    """
    try:
        data = fill(_read(file), datetime.now(UTC))
    except PlaceholderError as exc:
        raise BadInput(f"{file}: {exc}") from None
    try:
        event = event_from_dict(event_type, data, source_system=source_system)
    except ContractError as exc:
        raise BadInput(f"{file}: {exc}") from None
    event_id = str(event.envelope.event_id)
    if dry_run:
        if as_json:
            typer.echo(json.dumps({"event_type": event_type, "event_id": event_id, "valid": True}))
        else:
            typer.echo(f"valid {event_type} (event_id {event_id})")
        return
    settings = load_settings()
    check_installation()
    check_ready(settings)
    if isinstance(data.get("envelope"), dict) and data["envelope"].get("event_id"):
        # Only a file that fixes its event id can repeat one; reading the changelog is the
        # price of saying so.
        for saga in asyncio.run(_applied_by(settings, event)):
            typer.echo(
                f"note: event {event_id} was already applied by {saga}, which will skip it "
                "(leave envelope.event_id out of the file to publish a new event)",
                err=True,
            )
    meta = asyncio.run(_send(settings, event))
    if as_json:
        doc = {"event_type": event_type, "event_id": event_id, **asdict(meta)}
        typer.echo(json.dumps(doc))
        return
    typer.echo(
        f"published {event_type} {event_id} to {meta.topic} "
        f"partition {meta.partition} offset {meta.offset}"
    )
