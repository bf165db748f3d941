"""End-to-end latency: event append -> output visible to a read_committed consumer.

Outputs are matched to the event that caused them: a command by its header's causation_id
(the event id), a raw-pipe copy by its `q2c-event-id` header. Arrival is stamped once per
poll, before any decoding, so decoding in the collector does not inflate the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from engine.codec import DecodeError, decode_consumed
from engine.contracts import Command
from engine.kafka.client import Consumer
from engine.kafka.records import InRecord, TopicPartition

EventIdOf = Callable[[InRecord], str | None]


def causation_of(rec: InRecord) -> str | None:
    """The causing event id of a command record (None for anything else)."""
    if rec.value is None:
        return None
    with contextlib.suppress(DecodeError):
        model = decode_consumed(rec)
        if isinstance(model, Command):
            return model.header.causation_id
    return None


def copied_event_id(rec: InRecord) -> str | None:
    """The event id a raw-pipe copy carries in its headers."""
    raw = rec.header("q2c-event-id")
    return raw.decode() if raw is not None else None


class LatencyCollector:
    """Reads `topics` from their current end and records when each causing event's output arrived."""

    def __init__(self, options: dict[str, Any], topics: list[str], event_id_of: EventIdOf) -> None:
        self._options = options
        self._topics = topics
        self._event_id_of = event_id_of
        self.arrived_ms: dict[str, float] = {}
        self._consumer: Consumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        consumer = Consumer(self._options, group_id=None, read_committed=True, max_records=5000)
        await consumer.start()
        parts = [
            TopicPartition(t, p)
            for t in self._topics
            for p in sorted(await consumer.partitions_for(t))
        ]
        consumer.assign(parts)
        for tp, end in (await consumer.end_offsets(parts)).items():
            consumer.seek(tp, end)
        self._consumer = consumer
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        assert self._consumer is not None
        while not self._stop.is_set():
            records = await self._consumer.poll(timeout_ms=50)
            now_ms = time.time() * 1000.0
            for rec in records:
                eid = self._event_id_of(rec)
                if eid is not None and eid not in self.arrived_ms:
                    self.arrived_ms[eid] = now_ms

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 10.0)
        if self._consumer is not None:
            await self._consumer.stop()


def latencies_ms(sent_ms: dict[str, int], arrived_ms: dict[str, float]) -> list[float]:
    """Latency of every sent event whose output arrived (events without outputs are skipped)."""
    return [max(0.0, arrived_ms[eid] - ts) for eid, ts in sent_ms.items() if eid in arrived_ms]
