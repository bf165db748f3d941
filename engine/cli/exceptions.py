"""`q2c exceptions list|retry|cancel`: the business-exception queue (sagas in `exception`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from engine.cli.preflight import check_ready
from engine.exceptions_queue.actions import (
    ExceptionAction,
    list_exceptions,
    request,
)
from engine.ops.audit import operator
from engine.settings import load_settings

app = typer.Typer(help="Business exceptions: list, retry, cancel.", no_args_is_help=True)
T = TypeVar("T")
ReasonOpt = Annotated[str, typer.Option("--reason", help="why (kept in the event and audit)")]


def _run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    # Failures (broker, a key not in exception) end as one line: engine.cli.errors.
    check_ready(load_settings())
    return asyncio.run(make())


def _age(age: timedelta | None) -> str:
    if age is None:
        return "?"
    s = int(age.total_seconds())
    return f"{s // 86400}d{s % 86400 // 3600:02d}h{s % 3600 // 60:02d}m{s % 60:02d}s"


@app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Sagas waiting in `exception`, oldest first, with reason and age."""
    items = _run(lambda: list_exceptions(load_settings()))
    if as_json:
        typer.echo(json.dumps([i.to_json() for i in items], indent=2))
        return
    console = Console(width=200)
    if not items:
        console.print("no business exceptions")
        return
    table = Table(title=f"business exceptions ({len(items)})")
    for col in ("saga key", "saga", "reason", "age", "attempt"):
        table.add_column(col, overflow="fold")
    for i in items:
        table.add_row(i.saga_key, i.saga_type, i.reason, _age(i.age), str(i.attempt))
    console.print(table)


def _request(action: ExceptionAction, key: str, reason: str) -> None:
    result = _run(lambda: request(load_settings(), action, key, by=operator(), reason=reason))
    what = action if result.attempt is None else f"{action} {result.attempt}"
    typer.echo(f"{what} requested for {key} (event {result.event_id})")


@app.command()
def retry(
    key: Annotated[str, typer.Argument(help="saga key (deal id)")],
    reason: ReasonOpt = "master data fixed",
) -> None:
    """Ask the saga to validate again (attempt = previous + 1), audited."""
    _request("retry", key, reason)


@app.command()
def cancel(
    key: Annotated[str, typer.Argument(help="saga key (deal id)")],
    reason: ReasonOpt = "cancelled by operator",
) -> None:
    """Give up on the saga (it compensates and ends cancelled), audited."""
    _request("cancel", key, reason)
