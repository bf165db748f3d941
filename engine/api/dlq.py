"""Dead-letter topics as the API sees them: a summary by topic and error, and replay.

Reads the topics directly (a manually assigned consumer, read_committed). Replay re-sends the
dead-lettered record, with its original key, value and headers, to the topic it first failed
on; consumers dedupe by event id, so replaying a record twice has no second effect.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

from engine.dlq.headers import error_fields, original_headers
from engine.kafka.client import Consumer, Producer, read_partition
from engine.kafka.records import Delivered, InRecord, OutRecord, TopicPartition
from engine.runtime.names import TopicNames

RECENT_LIMIT = 200


def dlq_topics(names: TopicNames) -> list[str]:
    """Every dead-letter topic of the catalog, prefixed."""
    return [
        *(names.dlq(t) for t in names.inbound),
        names.dlq(names.inbox),
        names.dlq(names.commands("erp")),  # commands share one dead-letter topic
    ]


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered record, described by its error headers (no payload: it may hold PII)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    error_class: str
    message: str
    stage: str
    original_topic: str
    event_type: str | None

    def as_json(self, names: TopicNames) -> dict[str, Any]:
        return {
            "topic": names.logical(self.topic),
            "partition": self.partition,
            "offset": self.offset,
            "timestamp_ms": self.timestamp_ms,
            "error_class": self.error_class,
            "message": self.message,
            "stage": self.stage,
            "original_topic": names.logical(self.original_topic),
            "event_type": self.event_type,
        }


def describe(rec: InRecord) -> DeadLetter:
    """What the error headers say about a dead-lettered record."""
    fields = error_fields(rec.headers)
    event_type = rec.header("q2c-event-type")
    return DeadLetter(
        topic=rec.topic,
        partition=rec.partition,
        offset=rec.offset,
        timestamp_ms=rec.timestamp_ms,
        error_class=fields.get("exception.class.name", "unknown"),
        message=fields.get("exception.message", "")[:300],
        stage=fields.get("stage", "unknown"),
        original_topic=fields.get("topic", rec.topic.removesuffix(".dlq")),
        event_type=event_type.decode(errors="replace") if event_type else None,
    )


async def _partitions(options: dict[str, Any], topics: list[str]) -> list[TopicPartition]:
    probe = Consumer(options, group_id=None)
    await probe.start()
    try:
        return [TopicPartition(t, p) for t in topics for p in sorted(await probe.partitions_for(t))]
    finally:
        await probe.stop()


async def read_dead_letters(options: dict[str, Any], topics: list[str]) -> list[DeadLetter]:
    """Every record currently in `topics`, described (the DLQ is small by design)."""
    found: list[DeadLetter] = []
    parts = await _partitions(options, topics)
    await read_partition(options, parts, lambda rec: found.append(describe(rec)))
    return found


def summarize(letters: list[DeadLetter], names: TopicNames) -> dict[str, Any]:
    """Counts by topic and by (topic, error class), plus the most recent records."""
    by_topic = Counter(names.logical(d.topic) for d in letters)
    by_error = Counter((names.logical(d.topic), d.error_class) for d in letters)
    recent = sorted(letters, key=lambda d: d.timestamp_ms, reverse=True)[:RECENT_LIMIT]
    return {
        "total": len(letters),
        "by_topic": dict(sorted(by_topic.items())),
        "by_error": [
            {"topic": t, "error_class": e, "count": n} for (t, e), n in sorted(by_error.items())
        ],
        "recent": [d.as_json(names) for d in recent],
    }


async def fetch_record(
    options: dict[str, Any], tp: TopicPartition, offset: int, *, timeout_s: float = 10.0
) -> InRecord | None:
    """The record at `offset` of `tp`, or None when it is not (or no longer) there."""
    consumer = Consumer(options, group_id=None, max_records=1)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([tp])
        if offset < 0 or offset >= ends.get(tp, 0):
            return None
        consumer.assign([tp])
        consumer.seek(tp, offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            for rec in await consumer.poll(timeout_ms=200):
                if rec.offset == offset:
                    return rec
                if rec.offset > offset:  # compacted away or a transaction marker
                    return None
        return None
    finally:
        await consumer.stop()


def replay_record(rec: InRecord) -> OutRecord:
    """The record as it was before it failed, addressed to the topic it failed on."""
    fields = error_fields(rec.headers)
    return OutRecord(
        topic=fields.get("topic", rec.topic.removesuffix(".dlq")),
        key=rec.key,
        value=rec.value,
        headers=original_headers(rec.headers),
    )


async def replay(
    producer: Producer, options: dict[str, Any], tp: TopicPartition, offset: int
) -> Delivered | None:
    """Re-send one dead letter to its original topic; None when there is no such record."""
    rec = await fetch_record(options, tp, offset)
    if rec is None:
        return None
    return await producer.send_and_wait(replay_record(rec))
