"""The driver's Kafka work: topics for the baselines, fast and paced publishing, group progress.

Publishing uses the engine's `Producer` facade with batching (many sends in flight, one gather),
never one acknowledged send per event, so the input is on the broker quickly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from engine.bench.pacing import due_count
from engine.bench.workload import BenchRecord
from engine.kafka.client import Producer
from engine.kafka.records import OutRecord

PARTITIONS = 6


async def create_topics(options: dict[str, Any], topics: Sequence[str]) -> None:
    """Create `topics` with 6 partitions (the catalog's count for event topics), RF 1."""
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        result = await admin.create_topics(
            [NewTopic(t, PARTITIONS, 1) for t in topics], timeout_ms=30_000
        )
        for topic, code, *_ in getattr(result, "topic_errors", []):
            if code not in (0, TopicAlreadyExistsError.errno):
                raise RuntimeError(f"creating {topic} failed with error code {code}")
    finally:
        await admin.close()


async def committed_total(admin: AIOKafkaAdminClient, group: str, topics: set[str]) -> int:
    """Sum of the group's committed offsets on `topics` (records processed from fresh topics)."""
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    except KafkaError:
        return 0  # the group has no coordinator yet: nothing committed so far
    return sum(max(0, meta.offset) for tp, meta in offsets.items() if tp.topic in topics)


def _out(rec: BenchRecord, prefix: str) -> OutRecord:
    return OutRecord(topic=prefix + rec.topic, key=rec.key, value=rec.value, headers=rec.headers)


def _producer(options: dict[str, Any]) -> Producer:
    # Bigger batches and a longer linger: the input must be on the broker fast, not early.
    return Producer(options, client_id="q2c-bench-load", linger_ms=20, max_batch_size=256 * 1024)


async def publish_burst(
    options: dict[str, Any], prefix: str, records: Sequence[BenchRecord]
) -> float:
    """Send every record as fast as the producer batches them; returns the seconds taken."""
    producer = _producer(options)
    await producer.start()
    began = time.perf_counter()
    try:
        futures = [await producer.send(_out(r, prefix)) for r in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - began


@dataclass(frozen=True)
class PacedResult:
    """Append timestamps (ms, from the broker's acknowledgement) by event id, and the rate."""

    sent_ms: dict[str, int]
    achieved_eps: float


async def publish_paced(
    options: dict[str, Any], prefix: str, records: Sequence[BenchRecord], rate_eps: float
) -> PacedResult:
    """Send `records` at `rate_eps`, in catch-up bursts when the loop wakes late."""
    producer = _producer(options)
    await producer.start()
    pending: list[tuple[str, asyncio.Future[Any]]] = []
    try:
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = 0
        total = len(records)
        # Bounded: the last record is due at (total-1)/rate; allow twice that plus a margin.
        deadline = start + 2 * total / rate_eps + 10.0
        while sent < total and loop.time() < deadline:
            due = due_count(loop.time() - start, rate_eps, total)
            for rec in records[sent:due]:
                pending.append((rec.event_id, await producer.send(_out(rec, prefix))))
            sent = max(sent, due)
            await asyncio.sleep(min(0.005, max(0.0, (sent / rate_eps) - (loop.time() - start))))
        elapsed = max(loop.time() - start, 1e-9)
        metas = await asyncio.gather(*(f for _, f in pending))
    finally:
        await producer.stop()
    stamps = {eid: int(meta.timestamp) for (eid, _), meta in zip(pending, metas, strict=True)}
    return PacedResult(sent_ms=stamps, achieved_eps=len(stamps) / elapsed)
