"""`q2c translate`: the translator stage (native topics -> canonical events, exactly once)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

import typer

from engine.cli.preflight import open_keyset
from engine.connectors.mapping import MappingError
from engine.connectors.translator import Translator, configured_translator
from engine.observability.logging import configure_logging
from engine.settings import SettingsError, load_settings


@contextlib.contextmanager
def exit_2_on_bad_configuration() -> Iterator[None]:
    """A bad mapping file or connector setting ends the command with one line and exit 2
    (`q2c translate`, and `q2c run --with-gateway/--with-translator`)."""
    try:
        yield
    except MappingError as exc:
        typer.echo(f"mapping error:\n{exc}", err=True)
        raise typer.Exit(2) from None
    except (SettingsError, ValueError) as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


async def _run(translator: Translator) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, translator.request_stop)
    await translator.run()


def translate(log_level: str = typer.Option("INFO", help="logging level")) -> None:
    """Translate stored native events with the current mappings until SIGTERM.

    Runs in its own consumer group (`<Q2C_GROUP_ID>-translator`); untranslatable records go to
    `q2c.native.<platform>.dlq` (see `q2c dlq list`). Read-backs go through each platform's
    connection (`Q2C_<PLATFORM>_BASE_URL`, ...); without one, events that need a read-back
    are dead-lettered "needs read-back of ..." and replayable once it is configured.
    """
    configure_logging(log_level, json_lines=True, worker_id="translator")
    open_keyset()
    with exit_2_on_bad_configuration():
        settings = load_settings()
        translator = configured_translator(settings)
    asyncio.run(_run(translator))
