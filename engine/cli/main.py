"""Entry point of the `q2c` console script: one sub-command group per concern."""

from __future__ import annotations

import typer

from engine.cli import (
    bench,
    demo,
    dlq,
    exceptions,
    kafka,
    publish,
    replay,
    run,
    sagas,
    schemas,
    simulate,
    topics,
)
from engine.cli.errors import GuardedGroup, set_debug

app = typer.Typer(
    cls=GuardedGroup,
    help="q2c: quote-to-cash orchestration on Apache Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="show the traceback of a failure"),
) -> None:
    """q2c: quote-to-cash orchestration on Apache Kafka."""
    set_debug(debug)


app.add_typer(kafka.app, name="kafka")
app.add_typer(sagas.app, name="sagas")
app.add_typer(topics.app, name="topics")
app.add_typer(schemas.app, name="schemas")
app.add_typer(dlq.app, name="dlq")
app.add_typer(exceptions.app, name="exceptions")
app.command("publish")(publish.publish)
app.command("demo")(demo.demo)
app.command("run")(run.run)
app.command("bench")(bench.bench)
app.command("replay")(replay.replay)
app.command("simulate")(simulate.simulate)
app.add_typer(replay.state_app, name="state")

if __name__ == "__main__":
    app()
