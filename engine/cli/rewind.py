"""`q2c rewind --from TIME` and `q2c state rebuild`: re-run history, verify saga state.

"Replay" is the DLQ's word (`q2c dlq replay` re-publishes dead letters); moving the group back
in time is a rewind. `q2c replay --from` is kept as a hidden alias of `q2c rewind`.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from engine.cli.preflight import check_ready
from engine.kafka.connection import KafkaConnection
from engine.runtime.names import TopicNames
from engine.runtime.rewind import apply_rewind, plan_rewind, verify_state
from engine.settings import Settings, load_settings

state_app = typer.Typer(help="Inspect and verify saga state.", no_args_is_help=True)


def _settings() -> Settings:
    settings = load_settings()
    check_ready(settings)
    return settings


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"expected an ISO 8601 time, got {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def rewind(
    since: Annotated[str, typer.Option("--from", help="ISO time, e.g. 2026-11-26T09:00:00Z")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show the offsets only")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the plan as JSON")] = False,
) -> None:
    """Move the worker group back to TIME on every input topic (workers must be stopped).

    Events the sagas already applied are skipped by their event-id dedupe, so nothing is
    applied or emitted twice; events they never applied take effect on the next `q2c run`.
    """
    settings = _settings()
    options = KafkaConnection.from_settings(settings).options()
    names = TopicNames(settings.topic_prefix)
    plan = asyncio.run(plan_rewind(options, names, settings.group_id, _parse_time(since)))
    ordered = sorted(plan.offsets.items(), key=lambda kv: (kv[0].topic, kv[0].partition))
    if not as_json:
        table = Table("topic", "partition", "offset")
        for tp, offset in ordered:
            table.add_row(tp.topic, str(tp.partition), str(offset))
        Console().print(table)
    if not dry_run:
        asyncio.run(apply_rewind(options, plan))  # GroupBusyError: one line, exit 1
    if as_json:
        doc = {
            "group_id": plan.group_id,
            "since": plan.since.isoformat(),
            "dry_run": dry_run,
            "offsets": [
                {"topic": tp.topic, "partition": tp.partition, "offset": o} for tp, o in ordered
            ],
        }
        typer.echo(json.dumps(doc, indent=2))
    elif dry_run:
        typer.echo("dry run: nothing changed")
    else:
        typer.echo(f"group {settings.group_id} moved to {plan.since.isoformat()}; start `q2c run`")


@state_app.command("rebuild")
def rebuild(
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Restore every saga from the changelog as a worker would, verify it decodes, summarise."""
    settings = _settings()
    report = asyncio.run(
        verify_state(
            KafkaConnection.from_settings(settings).options(), TopicNames(settings.topic_prefix)
        )
    )
    if as_json:
        by_state = [
            {"saga_type": t, "state": st, "sagas": n}
            for (t, st), n in sorted(report.by_state.items())
        ]
        doc = {
            "sagas": report.sagas,
            "parked": report.parked,
            "timers": report.timers,
            "by_state": by_state,
        }
        typer.echo(json.dumps(doc, indent=2))
        return
    table = Table("saga type", "state", "sagas")
    for (saga_type, state), n in sorted(report.by_state.items()):
        table.add_row(saga_type, state, str(n))
    Console().print(table)
    typer.echo(
        f"{report.sagas} sagas restored; {report.parked} parked events; {report.timers} timers"
    )
