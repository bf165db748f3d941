"""What the API's POST endpoints and DLQ summary do against Kafka, behind one small protocol.

`KafkaOperations` adds nothing of its own: it calls what `q2c dlq` and `q2c exceptions` call
(`engine.dlq.replay`, `engine.exceptions_queue.actions`, `engine.ops.store`), with the caller's
role and token fingerprint as `by` and `via="api"` in the audit records.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from engine.api import views
from engine.api.timeline import CommandSeen
from engine.codec import decode_consumed
from engine.contracts import COMMAND_TARGETS
from engine.dlq.filters import DlqFilter
from engine.dlq.plan import full_topic
from engine.dlq.records import format_ref
from engine.dlq.replay import ReplaySuperseded, load_matching, replay
from engine.exceptions_queue.actions import ExceptionAction, States, request
from engine.kafka.client import Producer, read_partition, topic_partitions
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import InRecord
from engine.ops.audit import AuditAction, AuditRecord, Via
from engine.ops.store import read_audit, write_audit
from engine.runtime.names import TopicNames
from engine.settings import Settings

VIA: Via = "api"
NOTE_ACTION: AuditAction = "exceptions.note"


class Operations(Protocol):
    """Side effects and topic reads the API needs (a fake stands in for it in unit tests)."""

    async def dlq_summary(self) -> dict[str, Any]:
        """Counts by topic and error class, and the most recent dead letters."""
        ...

    async def replay(
        self, topic: str, partition: int, offset: int, actor: str
    ) -> dict[str, Any] | None:
        """Re-send one dead letter (logical topic name), audited; None when there is none."""
        ...

    async def replay_matching(
        self, topic: str | None, error_class: str | None, actor: str, *, dry_run: bool
    ) -> dict[str, Any]:
        """Replay (or, dry run, list) every dead letter of `topic` with `error_class`."""
        ...

    async def resolve(
        self, action: ExceptionAction, saga_key: str, states: States, actor: str, reason: str
    ) -> dict[str, Any]:
        """`retry` or `cancel` the saga, audited; `NotInException` when it is not in
        `exception` in `states` (a changelog read)."""
        ...

    async def commands_of(self, saga_key: str) -> list[CommandSeen]:
        """The commands sent for `saga_key`, read from the command topics."""
        ...

    async def exception_notes(self) -> dict[str, list[dict[str, Any]]]:
        """Notes operators left on sagas in exception (the audit trail's `exceptions.note`
        records), oldest first, by saga key."""
        ...

    async def audit(self, record: AuditRecord) -> None:
        """Record a refused or failed call on the audit topic."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class KafkaOperations:
    """`Operations` on the engine's cluster; clients connect on first use, not at start-up."""

    def __init__(self, settings: Settings, connection: KafkaConnection | None = None) -> None:
        """`connection`: the process's (built from `settings` when not given)."""
        self.settings = settings
        self.names = TopicNames(settings.topic_prefix)
        self.connection = connection or KafkaConnection.from_settings(settings)
        self._options = self.connection.options()
        self._producer: Producer | None = None
        self._lock = asyncio.Lock()

    async def _audit_producer(self) -> Producer:
        async with self._lock:
            if self._producer is None:
                producer = Producer(self._options, client_id=f"{self.settings.client_id}-api")
                await producer.start()
                self._producer = producer
            return self._producer

    async def dlq_summary(self) -> dict[str, Any]:
        letters, _purged = await load_matching(self.settings, DlqFilter())
        return views.dlq_summary(letters, self.names)

    async def replay(
        self, topic: str, partition: int, offset: int, actor: str
    ) -> dict[str, Any] | None:
        ref = format_ref(full_topic(self.settings.topic_prefix, topic), partition, offset)
        result = await replay(self.settings, DlqFilter(refs=(ref,)), by=actor, via=VIA)
        if result.superseded:
            raise ReplaySuperseded(result.superseded[0].describe())
        if not result.sent:
            return None
        sent = result.sent[0]
        return {
            "replayed_to": self.names.logical(sent.topic),
            "partition": sent.partition,
            "offset": sent.offset,
        }

    async def replay_matching(
        self, topic: str | None, error_class: str | None, actor: str, *, dry_run: bool
    ) -> dict[str, Any]:
        topics = (full_topic(self.settings.topic_prefix, topic),) if topic else ()
        flt = DlqFilter(topics=topics, error=error_class)
        result = await replay(self.settings, flt, by=actor, via=VIA, dry_run=dry_run)
        return {
            "replay_id": result.replay_id,
            "status": result.status,
            "matched": result.matched,
            "replayed": result.replayed,
            "records": [views.dead_letter(d, self.names) for d in result.records],
            "superseded": [s.describe() for s in result.superseded],
        }

    async def resolve(
        self, action: ExceptionAction, saga_key: str, states: States, actor: str, reason: str
    ) -> dict[str, Any]:
        result = await request(
            self.settings,
            action,
            saga_key,
            by=actor,
            reason=reason,
            via=VIA,
            states=states,
            connection=self.connection,
        )
        return {"requested": result.event_type, "attempt": result.attempt, "offset": result.offset}

    async def commands_of(self, saga_key: str) -> list[CommandSeen]:
        topics = sorted({self.names.commands(t) for t in COMMAND_TARGETS.values()})
        wanted = saga_key.encode()
        found: list[InRecord] = []

        def keep(rec: InRecord) -> None:
            if rec.key == wanted:
                found.append(rec)

        parts = await topic_partitions(self._options, topics)
        if parts:
            await read_partition(self._options, parts, keep, idle_timeout_s=5.0)
        out = []
        for rec in found:
            model: Any = decode_consumed(rec)  # headers and key too: commands may be sealed
            header = model.header
            out.append(
                CommandSeen(
                    command_type=header.command_type,
                    command_id=header.command_id,
                    idempotency_key=header.idempotency_key,
                    causation_id=header.causation_id,
                    issued_at=header.issued_at,
                    topic=self.names.logical(rec.topic),
                    partition=rec.partition,
                    offset=rec.offset,
                )
            )
        return out

    async def exception_notes(self) -> dict[str, list[dict[str, Any]]]:
        records = await read_audit(self._options, self.settings.topic_prefix)
        return views.notes_by_key(records, NOTE_ACTION)

    async def audit(self, record: AuditRecord) -> None:
        await write_audit(
            self._options,
            self.settings.topic_prefix,
            record,
            producer=await self._audit_producer(),
        )

    async def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()
