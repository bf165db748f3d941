"""Entry point of the `q2c` console script: one sub-command group per concern."""

from __future__ import annotations

import typer

from engine.cli import (
    acls,
    bench,
    chaos,
    connectors,
    demo,
    dlq,
    exceptions,
    gateway,
    kafka,
    keys,
    outbound,
    publish,
    rewind,
    run,
    sagas,
    schemas,
    simulate,
    topics,
    translate,
)
from engine.cli.errors import GuardedGroup, set_debug
from engine.version import package_version

app = typer.Typer(
    cls=GuardedGroup,
    help="q2c: quote-to-cash orchestration on Apache Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"q2c {package_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="show the traceback of a failure"),
    show_version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="print the installed version and exit",
    ),
) -> None:
    """q2c: quote-to-cash orchestration on Apache Kafka."""
    set_debug(debug)


app.add_typer(kafka.app, name="kafka")
app.add_typer(chaos.app, name="chaos")
app.add_typer(sagas.app, name="sagas")
app.add_typer(topics.app, name="topics")
app.add_typer(acls.app, name="acls")
app.add_typer(keys.app, name="keys")
app.add_typer(schemas.app, name="schemas")
app.add_typer(dlq.app, name="dlq")
app.add_typer(exceptions.app, name="exceptions")
app.add_typer(connectors.app, name="connectors")
connectors.app.command("list")(outbound.list_platforms)
connectors.app.command("run")(outbound.run)
connectors.app.command("poll-oracle")(outbound.poll_oracle)
app.command("gateway")(gateway.gateway)
app.command("translate")(translate.translate)
app.command("publish")(publish.publish)
app.command("demo")(demo.demo)
app.command("run")(run.run)
app.command("bench")(bench.bench)
app.command("rewind")(rewind.rewind)
# The command's name before "replay" came to mean the DLQ's only: scripts keep working.
app.command("replay", hidden=True)(rewind.rewind)
app.command("simulate")(simulate.simulate)
app.add_typer(rewind.state_app, name="state")

if __name__ == "__main__":
    app()
