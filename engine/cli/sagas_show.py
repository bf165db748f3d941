"""`q2c sagas show KEY`: one saga's state, parked events, timers and history, from the changelog."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from engine.api.views import protected_fields, saga_data
from engine.cli.errors import BadInput, NotFound
from engine.cli.preflight import check_ready
from engine.kafka.connection import KafkaConnection
from engine.ops.audit import operator
from engine.ops.store import write_audit
from engine.runtime.inspect import read_all_states
from engine.runtime.names import TopicNames
from engine.saga.model import SagaState
from engine.security.reveal import saga_reveal_record
from engine.settings import load_settings


def saga_summary(state: SagaState, *, reveal: bool = False) -> dict[str, Any]:
    """A JSON-friendly view of one saga (what `show --json` prints): its data with the
    protected fields masked unless `reveal`, as the API shows it."""
    return {
        "saga_type": state.saga_type,
        "saga_key": state.saga_key,
        "state": state.state,
        "version": state.version,
        "data": saga_data(state, reveal=reveal),
        "parked": [{"event_id": e.event_id, "event_type": e.event_type} for e in state.parked],
        "timers": {
            tid: {"name": t.name, "fire_at": t.fire_at.isoformat()}
            for tid, t in state.timers.items()
        },
        "history": [
            {
                "from": h.from_state,
                "to": h.to_state,
                "event_type": h.event_type,
                "event_id": h.event_id,
                "at": h.at.isoformat(),
                "note": h.note,
            }
            for h in state.history
        ],
    }


def show(
    key: Annotated[str, typer.Argument(help="saga key (the deal id)")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="show the protected data in clear (audited)")
    ] = False,
    why: Annotated[str | None, typer.Option("--why", help="reason, required with --reveal")] = None,
) -> None:
    """Print every saga of KEY: data, state, parked events, timers and transition history.

    Data beyond each saga type's safe fields (amounts, terms, rates, account details) is
    masked; `--reveal --why TEXT` shows it and first writes who, which saga, which fields and
    why to the audit topic (nothing is shown if that write fails).
    """
    if reveal and not (why and why.strip()):
        raise BadInput("--reveal needs --why: the reason is recorded in the audit trail")
    settings = load_settings()
    check_ready(settings)
    options = KafkaConnection.from_settings(settings).options()
    states = asyncio.run(read_all_states(options, TopicNames(settings.topic_prefix).state))
    found = [s for (_t, k), s in sorted(states.items()) if k == key]
    if not found:
        raise NotFound(f"no saga with key {key!r}")
    if reveal:
        fields = {s.saga_type: protected_fields(s) for s in found}
        audit = saga_reveal_record(key, fields, by=operator(), why=why or "", via="cli")
        asyncio.run(write_audit(options, settings.topic_prefix, audit))
    if as_json:
        typer.echo(json.dumps([saga_summary(s, reveal=reveal) for s in found], indent=2))
        return
    console = Console()
    for state in found:
        console.print(
            f"[bold]{state.saga_type}[/] {state.saga_key}: [green]{state.state}[/] (v{state.version})"
        )
        for name, value in saga_data(state, reveal=reveal).items():
            console.print(f"  {name}: {json.dumps(value)}", markup=False, highlight=False)
        if state.parked:
            console.print("  parked: " + ", ".join(e.event_type for e in state.parked))
        for tid, timer in state.timers.items():
            console.print(f"  timer {tid}: {timer.name} at {timer.fire_at.isoformat()}")
        table = Table("at", "from", "to", "event", "note")
        for h in state.history:
            table.add_row(
                h.at.isoformat(timespec="seconds"),
                h.from_state or "",
                h.to_state,
                h.event_type,
                h.note or "",
            )
        console.print(table)
