"""One place that turns an expected failure of any `q2c` command into one line and an exit code.

Commands raise (or let through) the engine's own errors; `GuardedGroup`, the click group of the
root `q2c` app, catches them around the whole command line, prints `error: <one line>` on stderr and
exits with a code that means something (see `ExitCode`). A traceback is printed only for a bug
(an exception nobody expects) or when asked for, with `q2c --debug ...` or `Q2C_LOG_LEVEL=debug`.
"""

from __future__ import annotations

import logging
import os
import traceback
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import typer
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from pydantic import ValidationError

# Typer 0.2x vendors click; `typer.BadParameter` is this module's class too.
from typer._click.exceptions import UsageError
from typer.core import TyperGroup

from engine.cli.environment import warn_unknown_variables
from engine.cli.preflight import BrokerUnreachable, MissingTopics
from engine.contracts.validation import ContractError
from engine.dlq.records import RefError
from engine.dlq.replay import ReplayError, ReplayNotFound
from engine.exceptions_queue.actions import NotInException
from engine.installation import IncompleteInstallation
from engine.kafka.connection import NoBrokerError
from engine.kafka.groups import GroupBusyError
from engine.localkafka import LocalKafkaError
from engine.publisher import NotStored
from engine.security.keyring import KeyUnavailable
from engine.security.protection import SealedFieldError
from engine.settings import SettingsError, settings_error
from engine.topics import CatalogError, TopicAdminError


class ExitCode(IntEnum):
    """What a `q2c` exit status means (documented in the README)."""

    OK = 0
    FAILED = 1  # the command could not do its job: broker down, refused, conflict
    USAGE = 2  # bad option, bad input file, bad configuration (click uses 2 as well)
    NOT_FOUND = 3  # the thing asked for does not exist (saga key, DLQ record, replay id)
    DRIFT = 4  # `topics plan`: the cluster differs from the catalog (apply would change it)


class NotFound(LookupError):
    """What the user asked for does not exist; exits with `ExitCode.NOT_FOUND`."""


class BadInput(ValueError):
    """An input checked at the edge is unusable; exits with `ExitCode.USAGE`."""


@dataclass(frozen=True)
class Failure:
    message: str
    code: ExitCode


_KAFKA_HINT = "is the broker running (`q2c kafka status`) and Q2C_BOOTSTRAP_SERVERS right?"


def one_line(text: str) -> str:
    """Collapse a multi-line message (indented details) into one line."""
    parts = [p.strip() for p in text.splitlines() if p.strip()]
    if not parts:
        return ""
    head, rest = parts[0], parts[1:]
    if not rest:
        return head
    return f"{head.rstrip(':')}: {'; '.join(rest)}"


def describe(exc: BaseException) -> Failure | None:
    """The line and exit code for an expected failure; None for a bug (show the traceback)."""
    usage: tuple[type[BaseException], ...] = (SettingsError, BadInput, ContractError, CatalogError)
    failed: tuple[type[BaseException], ...] = (
        BrokerUnreachable,
        NoBrokerError,
        IncompleteInstallation,
        MissingTopics,
        GroupBusyError,
        LocalKafkaError,
        TopicAdminError,
        ReplayError,
        NotStored,
        KeyUnavailable,  # a sealed saga state or field under a key no longer in the keyset
        SealedFieldError,
    )
    not_found: tuple[type[BaseException], ...] = (NotFound, RefError, ReplayNotFound)
    if isinstance(exc, ValidationError) and exc.title.endswith("Settings"):
        # A settings class built outside `load_settings` (the HTTP API's): same wording.
        return Failure(str(settings_error(exc)), ExitCode.USAGE)
    if isinstance(exc, NotInException):
        # No such saga is "not found"; a saga in another state is a refusal.
        code = ExitCode.NOT_FOUND if exc.state is None else ExitCode.FAILED
        return Failure(str(exc), code)
    if isinstance(exc, usage):
        return Failure(one_line(str(exc)), ExitCode.USAGE)
    if isinstance(exc, not_found):
        return Failure(one_line(str(exc)), ExitCode.NOT_FOUND)
    if isinstance(exc, failed):
        return Failure(one_line(str(exc)), ExitCode.FAILED)
    if isinstance(exc, (KafkaConnectionError, KafkaTimeoutError)):
        return Failure(f"Kafka did not answer ({_kafka_text(exc)}): {_KAFKA_HINT}", ExitCode.FAILED)
    if isinstance(exc, KafkaError):
        return Failure(f"Kafka refused the request: {_kafka_text(exc)}", ExitCode.FAILED)
    return None


def _kafka_text(exc: KafkaError) -> str:
    # aiokafka repeats the class name in the text: "KafkaConnectionError: Unable to ...".
    text = one_line(str(exc))
    name = type(exc).__name__
    text = text.removeprefix(f"{name}: ").strip()
    return f"{name}: {text}" if text and text != name else name


def debug_wanted() -> bool:
    """`--debug` on the command line, or Q2C_LOG_LEVEL=debug."""
    return _debug_flag or os.environ.get("Q2C_LOG_LEVEL", "").strip().lower() == "debug"


_debug_flag = False


def set_debug(value: bool) -> None:
    """Called by the root `--debug` option."""
    global _debug_flag
    _debug_flag = value


def usage_line(exc: UsageError) -> str:
    """Click's usage error as one line naming the help to read (click prints the usage, a
    hint and a boxed message: three lines or more)."""
    message = one_line(exc.format_message()).rstrip(".")
    if exc.ctx is None:
        return message
    return f"{message} (see `{exc.ctx.command_path} --help`)"


def usage_exit(exc: UsageError) -> typer.Exit:
    """Print `exc` as one line and give the exit to raise (code 2, as click's own)."""
    typer.echo(f"error: {usage_line(exc)}", err=True)
    return typer.Exit(int(ExitCode.USAGE))


def report(exc: BaseException) -> ExitCode:
    """Print the one line for `exc` (and its traceback when debugging); re-raise a bug."""
    failure = describe(exc)
    if failure is None:
        raise exc
    if debug_wanted():
        traceback.print_exception(exc)
    else:
        # Clients left open by the failed call complain when collected at exit; the line
        # above already says what went wrong.
        for name in ("asyncio", "aiokafka"):
            logging.getLogger(name).disabled = True
    typer.echo(f"error: {failure.message}", err=True)
    return failure.code


class GuardedGroup(TyperGroup):
    """The root `q2c` group: every command's expected failures end as one line (see `report`).

    Wrapping `invoke` (not the console-script entry) means tests driving the app with typer's
    CliRunner see exactly what a user sees.
    """

    def make_context(self, info_name: str | None, args: list[str], *a: Any, **kw: Any) -> Any:
        """The root's own options and the command name are parsed here (`q2c --bogus`)."""
        try:
            return super().make_context(info_name, args, *a, **kw)
        except UsageError as exc:
            raise usage_exit(exc) from None

    # `ctx` is the click Context of typer's private vendored click, hence Any.
    def invoke(self, ctx: Any) -> Any:
        warn_unknown_variables(os.environ)
        client = logging.getLogger("aiokafka")
        level = client.level
        if not debug_wanted():
            # aiokafka logs every retried hiccup (a leader not yet elected...) and succeeds;
            # a person needs the outcome. `q2c run` sets up its own logging.
            client.setLevel(logging.CRITICAL)
        try:
            return super().invoke(ctx)
        except UsageError as exc:  # a subcommand's arguments: `q2c sagas show` (no key)
            raise usage_exit(exc) from None
        except Exception as exc:  # `report` re-raises what it does not know
            raise typer.Exit(int(report(exc))) from None
        finally:
            # In-process callers (tests, embedding) keep their own logging: the broker-outage
            # detection (engine.kafka.link) reads aiokafka's warnings.
            client.setLevel(level)
