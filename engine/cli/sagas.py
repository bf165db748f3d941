"""`q2c sagas list|graph`: inspect the shipped saga definitions (no broker needed)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from engine.cli.sagas_show import show
from engine.saga.render import to_dot, to_mermaid
from engine.sagas import SAGAS

app = typer.Typer(help="Inspect the saga state machines q2c ships.", no_args_is_help=True)
app.command("show")(show)


class GraphFormat(StrEnum):
    """Diagram languages `graph` can emit."""

    mermaid = "mermaid"
    dot = "dot"


@app.command("list")
def list_sagas() -> None:
    """Each saga type with its description, start events, states and consumed events."""
    for definition in SAGAS.values():
        states = ", ".join(
            f"{s} (terminal)" if definition.is_terminal(s) else s for s in definition.states
        )
        typer.echo(definition.name)
        typer.echo(f"  {definition.description}")
        typer.echo(f"  starts on: {', '.join(e.EVENT_TYPE for e in definition.starts_on)}")
        typer.echo(f"  states:    {states}")
        typer.echo(f"  consumes:  {', '.join(sorted(definition.consumed_event_types))}")


@app.command()
def graph(
    name: Annotated[str, typer.Argument(help="saga type, e.g. quote-to-cash")],
    fmt: Annotated[
        GraphFormat, typer.Option("--format", help="diagram language")
    ] = GraphFormat.mermaid,
) -> None:
    """Print the saga's state diagram, generated from its definition."""
    definition = SAGAS.get(name)
    if definition is None:
        typer.echo(f"unknown saga {name!r}; known: {', '.join(SAGAS)}", err=True)
        raise typer.Exit(2)
    typer.echo(
        to_mermaid(definition) if fmt is GraphFormat.mermaid else to_dot(definition), nl=False
    )
