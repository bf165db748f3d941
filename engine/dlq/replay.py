"""Replays and purges of dead letters (I/O), audited and resumable.

Replay re-publishes each matching record with its original key, value and headers (error
headers stripped) plus `q2c.replay.*` headers. Records and the replay's checkpoint in
`q2c.ops.replay-progress` are written in one Kafka transaction per batch, so an interrupted
replay (`limit`, Ctrl-C, a crash) resumed with its id neither skips nor repeats a record.
Replaying a record that was already applied is harmless anyway: the saga drops an event id it
has seen, and command handlers dedupe on the idempotency key. A command a later one superseded
(an older CRM status, budget or billing total, see `engine.dlq.supersession`) is skipped and
named, unless `include_superseded`: its idempotency key is its own, so nothing downstream would
stop it from writing the older value back.

Purge cannot delete single records from a Kafka topic: the admin delete-records API only cuts a
partition below an offset, which would also drop records outside the filter. A purge therefore
writes a "purged" marker (the DLQ references) to the compacted progress topic; `list` and
`replay` skip purged records, and the topic's retention removes them for real later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from engine.dlq.filters import DlqFilter, first_per_origin, select
from engine.dlq.plan import ORIGINAL, full_topic, replay_record
from engine.dlq.reader import dlq_topics, find_superseded, read_dead_letters
from engine.dlq.records import DeadLetter
from engine.dlq.supersession import Superseded
from engine.kafka.client import Producer, TransactionalProducer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import Delivered, OutRecord
from engine.ops.audit import AuditRecord, Via, new_action_id, now_utc
from engine.ops.progress import ProgressStatus, PurgeMarker, ReplayProgress, unfinished_like
from engine.ops.store import progress_topic, read_ops_state, write_audit
from engine.settings import Settings

BATCH = 50
# What one `replay` call did: nothing (dry-run, cancelled at the prompt), some (partial) or all.
ReplayOutcome = Literal["dry-run", "partial", "done", "cancelled"]


class ReplayError(RuntimeError):
    """A replay cannot run as asked (unknown resume id, purge without a filter, ...)."""


class ReplaySuperseded(ReplayError):
    """The one command asked for was superseded by a later one, so it was not replayed."""


class ReplayNotFound(ReplayError, LookupError):
    """`--resume` names a replay the progress topic does not hold."""


@dataclass(frozen=True)
class ReplayResult:
    replay_id: str
    matched: int  # matching, not purged records in the DLQ (one per original record)
    already_done: int  # skipped because an earlier run of this replay did them
    replayed: int
    remaining: int
    status: ReplayOutcome
    records: tuple[DeadLetter, ...] = ()  # what was (or, dry-run, would be) replayed
    sent: tuple[Delivered, ...] = ()  # where `records` landed, in the same order
    superseded: tuple[Superseded, ...] = ()  # matching, but left out: a later command replaced them

    def to_json(self) -> dict[str, Any]:
        """What `q2c dlq replay --json` prints: counts, and references instead of payloads."""
        return {
            "replay_id": self.replay_id,
            "status": self.status,
            "matched": self.matched,
            "already_done": self.already_done,
            "replayed": self.replayed,
            "remaining": self.remaining,
            "records": [dl.ref for dl in self.records],
            "sent": [f"{d.topic}:{d.partition}:{d.offset}" for d in self.sent],
            "superseded": [s.to_json() for s in self.superseded],
        }


async def load_matching(settings: Settings, flt: DlqFilter) -> tuple[list[DeadLetter], set[str]]:
    """Matching, not purged dead letters in offset order, and the purged references."""
    return await _load_matching(KafkaConnection.from_settings(settings), settings, flt)


async def _load_matching(
    connection: KafkaConnection, settings: Settings, flt: DlqFilter
) -> tuple[list[DeadLetter], set[str]]:
    options = connection.options()
    ops = await read_ops_state(options, settings.topic_prefix)
    letters = await read_dead_letters(options, dlq_topics(settings.topic_prefix))
    return select(letters, flt, frozenset(ops.purged)), ops.purged


def new_progress(settings: Settings, flt: DlqFilter, target: str, by: str) -> ReplayProgress:
    """The checkpoint of a replay that has not started yet (a fresh id)."""
    prefix = settings.topic_prefix
    return ReplayProgress(
        replay_id=new_action_id("replay"),
        by=by,
        started_at=now_utc().isoformat(),
        filter=flt.to_json(),
        target=target if target == ORIGINAL else full_topic(prefix, target),
    )


async def find_unfinished(
    settings: Settings, flt: DlqFilter, target: str = ORIGINAL
) -> ReplayProgress | None:
    """An earlier replay of the same filter and target that did not finish (to offer resuming)."""
    connection = KafkaConnection.from_settings(settings)
    ops = await read_ops_state(connection.options(), settings.topic_prefix)
    fresh = new_progress(settings, flt, target, by="")
    return unfinished_like(ops.replays.values(), fresh.filter, fresh.target)


@dataclass(frozen=True)
class ReplayStatus:
    """One replay for `q2c dlq replays`: its checkpoint and what is left of its filter."""

    progress: ReplayProgress
    remaining: int

    def to_json(self) -> dict[str, Any]:
        p = self.progress
        return {
            "replay_id": p.replay_id,
            "by": p.by,
            "started_at": p.started_at,
            "status": p.status,
            "replayed": p.count,
            "remaining": self.remaining,
            "target": p.target,
            "filter": p.filter,
        }


async def list_replays(settings: Settings) -> list[ReplayStatus]:
    """Every replay in the progress topic, oldest first, with how many records it has left."""
    options = KafkaConnection.from_settings(settings).options()
    ops = await read_ops_state(options, settings.topic_prefix)
    letters = await read_dead_letters(options, dlq_topics(settings.topic_prefix))
    purged = frozenset(ops.purged)
    out = []
    for progress in sorted(ops.replays.values(), key=lambda r: r.started_at):
        matching = first_per_origin(select(letters, DlqFilter.from_json(progress.filter), purged))
        out.append(ReplayStatus(progress, len(progress.pending(matching))))
    return out


async def replay(
    settings: Settings,
    flt: DlqFilter,
    *,
    by: str,
    via: Via = "cli",
    target: str = ORIGINAL,
    dry_run: bool = False,
    rate: float | None = None,
    limit: int | None = None,
    resume_id: str | None = None,
    replay_id: str | None = None,
    include_superseded: bool = False,
    confirm: Callable[[int], bool] = lambda n: True,
    on_begin: Callable[[ReplayProgress, int], None] = lambda progress, pending: None,
    on_start: Callable[[int], None] = lambda n: None,
    on_record: Callable[[DeadLetter], None] = lambda dl: None,
) -> ReplayResult:
    """Replay matching dead letters; `resume_id` continues an earlier replay with its filter.

    `on_begin` learns the replay id and how many records are pending before anything is
    asked or sent. Audited at the start, at an interruption (an error, Ctrl-C) and at the end
    (outcome `not-found` when nothing matched); `via` names the caller (cli or api). The
    checkpoint is written at the start too, so `q2c dlq replays` lists a replay that is
    killed before its first batch. Superseded commands are left out of the matching records
    (and reported) unless `include_superseded`.
    """
    connection = KafkaConnection.from_settings(settings)
    options = connection.options()
    prefix = settings.topic_prefix
    ops = await read_ops_state(options, prefix)
    if resume_id is not None:
        found = ops.replays.get(resume_id)
        if found is None:
            raise ReplayNotFound(f"no replay {resume_id!r} in {progress_topic(prefix)}")
        progress = found
        flt, target = DlqFilter.from_json(progress.filter), progress.target
    else:
        progress = new_progress(settings, flt, target, by)
        if replay_id is not None:
            progress = replace(progress, replay_id=replay_id)
    letters = first_per_origin(
        select(await read_dead_letters(options, dlq_topics(prefix)), flt, frozenset(ops.purged))
    )
    superseded = () if include_superseded else tuple(await find_superseded(options, letters))
    stale = {s.letter.ref for s in superseded}
    letters = [dl for dl in letters if dl.ref not in stale]
    pending = progress.pending(letters)
    todo = pending[:limit] if limit is not None else pending
    done_before = len(letters) - len(pending)
    on_begin(progress, len(pending))

    def result(
        status: ReplayOutcome,
        replayed: int,
        records: list[DeadLetter],
        sent: Sequence[Delivered] = (),
    ) -> ReplayResult:
        return ReplayResult(
            replay_id=progress.replay_id,
            matched=len(letters),
            already_done=done_before,
            replayed=replayed,
            remaining=len(pending) - replayed,
            status=status,
            records=tuple(records),
            sent=tuple(sent),
            superseded=superseded,
        )

    def audit(outcome: str, status: ProgressStatus, count: int) -> AuditRecord:
        return AuditRecord(
            action="dlq.replay",
            action_id=progress.replay_id,
            by=by,
            at=now_utc(),
            target=progress.target,
            count=count,
            filter=progress.filter,
            details={
                "status": status,
                "resumed": resume_id is not None,
                "total": progress.count,
                "superseded": [s.letter.ref for s in superseded],
            },
            outcome=outcome,
            via=via,
        )

    if dry_run:
        return result("dry-run", 0, todo)
    if todo and not confirm(len(todo)):
        return result("cancelled", 0, [])
    if todo:
        progress = replace(progress, status="running")
        await _checkpoint(connection, settings, progress)
        await write_audit(options, prefix, audit("started", "running", len(todo)))
    on_start(len(todo))
    committed = [progress]
    try:
        sent = await _publish(connection, settings, progress, todo, by, rate, on_record, committed)
    except BaseException:
        # Record what the committed batches did; the next run with --resume continues there.
        progress = replace(committed[-1], status="interrupted")
        done_now = progress.count - committed[0].count
        await asyncio.shield(_record_interruption(connection, settings, progress, audit, done_now))
        raise
    status: Literal["done", "partial"] = "done" if len(todo) == len(pending) else "partial"
    progress = replace(committed[-1], status=status)
    await _checkpoint(connection, settings, progress)
    await write_audit(
        options, prefix, audit("done" if letters or superseded else "not-found", status, len(todo))
    )
    return result(status, len(todo), todo, sent)


async def _record_interruption(
    connection: KafkaConnection,
    settings: Settings,
    progress: ReplayProgress,
    audit: Callable[[str, ProgressStatus, int], AuditRecord],
    done_now: int,
) -> None:
    await _checkpoint(connection, settings, progress)
    await write_audit(
        connection.options(),
        settings.topic_prefix,
        audit("interrupted", "interrupted", done_now),
    )


async def _publish(
    connection: KafkaConnection,
    settings: Settings,
    progress: ReplayProgress,
    todo: list[DeadLetter],
    by: str,
    rate: float | None,
    on_record: Callable[[DeadLetter], None],
    committed: list[ReplayProgress],
) -> list[Delivered]:
    """Send `todo` in transactions of up to BATCH records, each with the advanced checkpoint.

    Appends each committed checkpoint to `committed`; returns where each record landed."""
    producer = _progress_producer(connection, progress)
    await producer.start()
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent = 0
    delivered: list[Delivered] = []
    try:
        for i in range(0, len(todo), BATCH):
            batch = todo[i : i + BATCH]
            await producer.begin()
            acks: list[asyncio.Future[Any]] = []
            try:
                for dl in batch:
                    if rate:
                        # Pace to `rate` records/s overall: sleep until this record's slot.
                        await asyncio.sleep(max(0.0, started + sent / rate - loop.time()))
                    acks.append(
                        await producer.send(
                            replay_record(dl, progress.target, progress.replay_id, by, _now())
                        )
                    )
                    progress = progress.advance(dl)
                    sent += 1
                await producer.send(_progress_record(settings, progress))
                await producer.commit(None, "")
            except BaseException:
                await producer.abort()
                raise
            committed.append(progress)
            for meta in await asyncio.gather(*acks):
                delivered.append(Delivered(meta.topic, meta.partition, meta.offset))
            for dl in batch:
                on_record(dl)
    finally:
        await producer.stop()
    return delivered


def _now() -> datetime:
    return now_utc()


def _progress_record(settings: Settings, progress: ReplayProgress) -> OutRecord:
    return OutRecord(progress_topic(settings.topic_prefix), progress.key, progress.to_bytes())


def _progress_producer(
    connection: KafkaConnection, progress: ReplayProgress
) -> TransactionalProducer:
    """The replay's transactional producer: one transactional id per replay, so a resumed
    replay fences the run it continues."""
    return TransactionalProducer(
        connection.options(), f"{connection.client_id}-{progress.replay_id}"
    )


async def _checkpoint(
    connection: KafkaConnection, settings: Settings, progress: ReplayProgress
) -> None:
    producer = _progress_producer(connection, progress)
    await producer.start()
    try:
        await producer.begin()
        await producer.send(_progress_record(settings, progress))
        await producer.commit(None, "")
    finally:
        await producer.stop()


async def purge(
    settings: Settings,
    flt: DlqFilter,
    *,
    by: str,
    confirm: Callable[[int], bool] = lambda n: True,
) -> int:
    """Mark matching dead letters purged (see the module doc); returns how many."""
    if flt.empty:
        raise ReplayError(
            "purge needs an explicit filter (--topic, --error, --key, --since/--until)"
        )
    connection = KafkaConnection.from_settings(settings)
    letters, _ = await _load_matching(connection, settings, flt)
    if not letters or not confirm(len(letters)):
        return 0
    marker = PurgeMarker(new_action_id("purge"), tuple(dl.ref for dl in letters))
    await _checkpoint_marker(connection, settings, marker)
    await write_audit(
        connection.options(),
        settings.topic_prefix,
        AuditRecord(
            action="dlq.purge",
            action_id=marker.purge_id,
            by=by,
            at=now_utc(),
            target=",".join(sorted({dl.topic for dl in letters})),
            count=len(letters),
            filter=flt.to_json(),
            details={"refs": list(marker.refs)},
        ),
    )
    return len(letters)


async def _checkpoint_marker(
    connection: KafkaConnection, settings: Settings, marker: PurgeMarker
) -> None:
    producer = Producer(connection.options(), client_id="q2c-ops")
    await producer.start()
    try:
        await producer.send_and_wait(
            OutRecord(progress_topic(settings.topic_prefix), marker.key, marker.to_bytes())
        )
    finally:
        await producer.stop()
