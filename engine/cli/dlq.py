"""`q2c dlq list|show|replay|purge`: inspect, replay and purge dead-lettered records.

Payload values are shown only by `show` (one record, on request); listings, summaries and audit
records carry references, keys, error classes and messages, never values.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engine.cli.errors import BadInput, NotFound
from engine.cli.preflight import check_ready
from engine.codec import DecodeError, decode_consumed, default_codec
from engine.dlq.filters import DlqFilter, group_counts
from engine.dlq.plan import ORIGINAL, full_topic
from engine.dlq.reader import read_one
from engine.dlq.records import DeadLetter
from engine.dlq.replay import (
    ReplayError,
    find_unfinished,
    list_replays,
    load_matching,
    purge,
    replay,
)
from engine.kafka.connection import KafkaConnection
from engine.ops.audit import operator
from engine.ops.progress import ReplayProgress
from engine.ops.store import write_audit
from engine.security import protection
from engine.security.reveal import reveal_record
from engine.settings import Settings, load_settings

app = typer.Typer(help="Dead-letter topics: list, show, replay, purge.", no_args_is_help=True)
T = TypeVar("T")

TopicOpt = Annotated[
    list[str] | None,
    typer.Option("--topic", help="DLQ or original topic (repeatable; prefix optional)"),
]
ErrorOpt = Annotated[
    str | None, typer.Option("--error", help="exception class, full or short (DecodeError)")
]
SinceOpt = Annotated[str | None, typer.Option("--since", help="failed at or after (ISO 8601)")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="failed before (ISO 8601)")]
KeyOpt = Annotated[str | None, typer.Option("--key", help="exact record key")]


def _console() -> Console:
    return Console(width=200)


def _run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    # Failures (broker, unknown replay id, bad reference) end as one line: engine.cli.errors.
    return asyncio.run(make())


def _when(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{option}: not an ISO 8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _filter(
    settings: Settings,
    topic: list[str] | None,
    error: str | None,
    since: str | None,
    until: str | None,
    key: str | None,
) -> DlqFilter:
    return DlqFilter(
        topics=tuple(full_topic(settings.topic_prefix, t) for t in topic or ()),
        error=error,
        since=_when(since, "--since"),
        until=_when(until, "--until"),
        key=key,
    )


def _settings() -> Settings:
    settings = load_settings()
    check_ready(settings)
    return settings


def records_table(letters: list[DeadLetter]) -> Table:
    table = Table(title="dead letters")
    for col in ("ref", "key", "original", "error", "message", "attempts", "failed at"):
        table.add_column(col, overflow="fold")
    for dl in letters:
        table.add_row(
            dl.ref,
            dl.key_text,
            f"{dl.original_topic}:{dl.original_partition}:{dl.original_offset}",
            dl.error_name,
            dl.message[:120],
            str(dl.attempts),
            dl.failed_at.isoformat(timespec="seconds"),
        )
    return table


def counts_table(letters: list[DeadLetter]) -> Table:
    table = Table(title="dead letters by topic and error")
    for col in ("dlq topic", "error class", "count"):
        table.add_column(col)
    for topic, error, n in group_counts(letters):
        table.add_row(topic, error, str(n))
    return table


@app.command("list")
def list_cmd(
    topic: TopicOpt = None,
    error: ErrorOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    key: KeyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
) -> None:
    """Counts by topic and error class, then the matching records (purged ones hidden)."""
    settings = _settings()
    flt = _filter(settings, topic, error, since, until, key)
    letters, _ = _run(lambda: load_matching(settings, flt))
    if as_json:
        counts = [{"topic": t, "error_class": e, "count": n} for t, e, n in group_counts(letters)]
        typer.echo(
            json.dumps({"counts": counts, "records": [dl.summary() for dl in letters]}, indent=2)
        )
        return
    console = _console()
    if not letters:
        console.print("no dead letters match")
        return
    console.print(counts_table(letters))
    console.print(records_table(letters))


def _decoded(dl: DeadLetter, reveal: bool) -> dict[str, Any] | None:
    """The value decoded; classified fields masked unless `reveal` (then opened with the key)."""
    try:
        if reveal:
            model = decode_consumed(dl)
            return {"type": type(model).__name__, "value": model.model_dump(mode="json")}
        name, record = default_codec().decode_record(dl.value)
    except protection.SealedFieldError:
        raise  # its key was removed (or it was altered): one line saying so, not hex as a value
    except DecodeError:
        return None
    masked = protection.active().mask(name, record)
    return {"type": name.rpartition(".")[2], "value": json.loads(json.dumps(masked, default=str))}


@app.command()
def show(
    ref: Annotated[str, typer.Argument(help="<dlq-topic>:<partition>:<offset>")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="show classified fields in clear (audited)")
    ] = False,
    why: Annotated[str | None, typer.Option("--why", help="reason, required with --reveal")] = None,
) -> None:
    """One dead letter: error details, every header, and its value (decoded, else hex/base64).

    Classified fields (rates, terms, tax and bank details) are masked; `--reveal --why TEXT`
    opens them with the field keyset and writes who, what and why to the audit topic first.
    """
    settings = _settings()
    if reveal and not (why and why.strip()):
        raise BadInput("--reveal needs --why: the reason is recorded in the audit trail")
    options = KafkaConnection.from_settings(settings).options()
    dl = _run(lambda: read_one(options, ref))
    if dl is None:
        raise NotFound(f"no dead letter at {ref}")
    if reveal:
        audit = reveal_record(ref, dl, by=operator(), why=why or "", via="cli")
        _run(lambda: write_audit(options, settings.topic_prefix, audit))
    decoded = _decoded(dl, reveal)
    raw = dl.value or b""
    doc: dict[str, Any] = {
        **dl.summary(),
        "headers": [[k, v.decode(errors="replace")] for k, v in dl.headers],
        "decoded": decoded,
    }
    if decoded is None:
        doc["value_hex"] = raw.hex()
        doc["value_base64"] = base64.b64encode(raw).decode()
    if as_json:
        typer.echo(json.dumps(doc, indent=2, default=str))
        return
    console = _console()
    for k in (
        "ref",
        "key",
        "original_topic",
        "original_partition",
        "original_offset",
        "error_class",
        "message",
        "stage",
        "attempts",
        "failed_at",
    ):
        console.print(f"[bold]{k}[/bold]: {doc[k]}", highlight=False)
    headers = Table(title="headers")
    headers.add_column("name")
    headers.add_column("value", overflow="fold")
    for k, v in doc["headers"]:
        headers.add_row(k, v if k.endswith("stacktrace") is False else v[-600:])
    console.print(headers)
    if decoded is not None:
        console.print(f"[bold]value[/bold] ({decoded['type']}):")
        console.print_json(json.dumps(decoded["value"], default=str))
    else:
        console.print(f"[bold]value[/bold] (undecodable, {len(raw)} bytes)")
        console.print(f"hex:    {doc['value_hex']}", highlight=False)
        console.print(f"base64: {doc['value_base64']}", highlight=False)


@app.command("replay")
def replay_cmd(
    topic: TopicOpt = None,
    error: ErrorOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    key: KeyOpt = None,
    to: Annotated[str, typer.Option("--to", help="'original' or a topic name")] = ORIGINAL,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would be replayed")] = False,
    rate: Annotated[
        float | None, typer.Option("--rate", min=0.1, help="records per second")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="stop after N records")
    ] = None,
    resume: Annotated[
        str | None, typer.Option("--resume", help="continue replay REPLAY_ID")
    ] = None,
    new: Annotated[
        bool, typer.Option("--new", help="start afresh even if a replay of this filter stopped")
    ] = False,
    include_superseded: Annotated[
        bool,
        typer.Option(
            "--include-superseded",
            help="also replay commands a later one of their key replaced (older status, budget)",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the outcome as JSON")] = False,
) -> None:
    """Re-publish matching dead letters with their original key, value and headers (audited).

    A command that a later command of the same type and key superseded (an older CRM status,
    project budget or billing total) is not replayed, and is named: it would write the older
    value back. `--include-superseded` replays it anyway.

    The replay id is printed first (on stderr), so an interrupted run can be resumed with
    `--resume ID`; `q2c dlq replays` lists them all. Re-running the same filter after an
    interruption offers to resume (without a terminal, or with --yes, it refuses and names
    the id; --new starts over).
    """
    settings = _settings()
    flt = _filter(settings, topic, error, since, until, key)
    if resume is None and not new and not dry_run:
        resume = _resume_offer(settings, flt, to, ask=not yes and sys.stdin.isatty())
    console = _console()
    progress = Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    task_ids: list[Any] = []

    def on_begin(state: ReplayProgress, pending: int) -> None:
        how = "resumed" if resume else ("dry run" if dry_run else "new")
        typer.echo(f"replay {state.replay_id} ({how}): {pending} record(s) pending", err=True)

    def confirm(n: int) -> bool:
        return yes or typer.confirm(f"replay {n} record(s) to {to}?", default=False)

    def on_start(n: int) -> None:
        progress.start()
        task_ids.append(progress.add_task("replay", total=n))

    def on_record(_dl: DeadLetter) -> None:
        progress.advance(task_ids[0])

    try:
        result = _run(
            lambda: replay(
                settings,
                flt,
                by=operator(),
                target=to,
                dry_run=dry_run,
                rate=rate,
                limit=limit,
                resume_id=resume,
                include_superseded=include_superseded,
                confirm=confirm,
                on_begin=on_begin,
                on_start=on_start,
                on_record=on_record,
            )
        )
    finally:
        progress.stop()
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    if dry_run and result.records:
        console.print(records_table(list(result.records)))
    for skipped in result.superseded:
        console.print(f"skipped {skipped.describe()}", highlight=False)
    console.print(
        f"replay {result.replay_id}: {result.status}; matched {result.matched}, "
        f"already done {result.already_done}, replayed {result.replayed}, "
        f"remaining {result.remaining}",
        highlight=False,
    )
    if result.status == "partial":
        console.print(f"continue with: q2c dlq replay --resume {result.replay_id}", highlight=False)


def _resume_offer(settings: Settings, flt: DlqFilter, to: str, *, ask: bool) -> str | None:
    """The id to resume when an earlier replay of the same filter stopped, else None."""
    earlier = _run(lambda: find_unfinished(settings, flt, to))
    if earlier is None:
        return None
    what = (
        f"replay {earlier.replay_id} of the same filter (started {earlier.started_at} by "
        f"{earlier.by}) stopped {earlier.status} after {earlier.count} record(s)"
    )
    if not ask:
        raise ReplayError(
            f"{what}: resume it with `q2c dlq replay --resume {earlier.replay_id}`, "
            "or start over with --new"
        )
    if typer.confirm(f"{what}; resume it?", default=True):
        return earlier.replay_id
    return None


@app.command("replays")
def replays_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
) -> None:
    """Every DLQ replay with its progress: status, records replayed and remaining."""
    settings = _settings()
    items = _run(lambda: list_replays(settings))
    if as_json:
        typer.echo(json.dumps([i.to_json() for i in items], indent=2))
        return
    console = _console()
    if not items:
        console.print("no replays")
        return
    table = Table(title=f"DLQ replays ({len(items)})")
    for col in ("replay id", "started", "by", "status", "replayed", "remaining", "filter"):
        table.add_column(col, overflow="fold")
    for item in items:
        p = item.progress
        shown = {k: v for k, v in p.filter.items() if v not in (None, [], ())}
        table.add_row(
            p.replay_id,
            p.started_at[:19],
            p.by,
            p.status,
            str(p.count),
            str(item.remaining),
            json.dumps(shown),
        )
    console.print(table)
    if any(not i.progress.finished for i in items):
        console.print("resume one with: q2c dlq replay --resume REPLAY_ID", highlight=False)


@app.command("purge")
def purge_cmd(
    topic: TopicOpt = None,
    error: ErrorOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    key: KeyOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would be purged")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the outcome as JSON")] = False,
) -> None:
    """Hide matching dead letters from list and replay (a marker, audited; see replay.py)."""
    settings = _settings()
    flt = _filter(settings, topic, error, since, until, key)
    if flt.empty:
        raise BadInput("purge needs a filter: --topic, --error, --key, --since or --until")
    if dry_run:
        letters, _ = _run(lambda: load_matching(settings, flt))
        if as_json:
            doc = {"dry_run": True, "purged": 0, "would_purge": [dl.ref for dl in letters]}
            typer.echo(json.dumps(doc, indent=2))
            return
        if letters:
            _console().print(records_table(letters))
        typer.echo(f"dry run: would purge {len(letters)} dead letter(s)")
        return

    def confirm(n: int) -> bool:
        return yes or typer.confirm(f"purge {n} dead letter(s)?", default=False)

    n = _run(lambda: purge(settings, flt, by=operator(), confirm=confirm))
    if as_json:
        typer.echo(json.dumps({"dry_run": False, "purged": n}))
        return
    typer.echo(f"purged {n} dead letter(s)")
