"""`q2c sagas show KEY`: one saga's state, parked events, timers and history, from the changelog."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from engine.cli.errors import NotFound
from engine.cli.preflight import check_ready
from engine.kafka.connection import client_options
from engine.runtime.inspect import read_all_states
from engine.runtime.names import TopicNames
from engine.saga.model import SagaState
from engine.settings import load_settings


def saga_summary(state: SagaState) -> dict[str, Any]:
    """A JSON-friendly view of one saga (what `show --json` prints)."""
    return {
        "saga_type": state.saga_type,
        "saga_key": state.saga_key,
        "state": state.state,
        "version": state.version,
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
) -> None:
    """Print every saga of KEY: state, parked events, timers and transition history."""
    settings = load_settings()
    check_ready(settings)
    options = client_options(settings)
    states = asyncio.run(read_all_states(options, TopicNames(settings.topic_prefix).state))
    found = [s for (_t, k), s in sorted(states.items()) if k == key]
    if not found:
        raise NotFound(f"no saga with key {key!r}")
    if as_json:
        typer.echo(json.dumps([saga_summary(s) for s in found], indent=2))
        return
    console = Console()
    for state in found:
        console.print(
            f"[bold]{state.saga_type}[/] {state.saga_key}: [green]{state.state}[/] (v{state.version})"
        )
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
