"""The correlation index: source-system ids (ERP project id, billing invoice id) -> saga key.

Built from the sagas' own `Correlate` effects, written to the compacted `q2c.saga.correlation`
topic in the same transaction as the state that learned them, and read in full by every worker
(a global table), so any worker can route an event that only carries a source id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from engine.kafka.client import Consumer
from engine.kafka.records import TopicPartition

log = logging.getLogger("q2c.correlation")


def index_key(id_kind: str, id_value: str) -> str:
    return f"{id_kind}:{id_value}"


class CorrelationTable:
    """In-memory view of the correlation topic, kept current by a background reader."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self._map: dict[str, str] = {}
        self._reader: asyncio.Task[None] | None = None
        self._consumer: Consumer | None = None
        self.updates = 0  # bumps on every change, so waiters know when to look again

    def get(self, id_kind: str, id_value: str) -> str | None:
        return self._map.get(index_key(id_kind, id_value))

    def put(self, id_kind: str, id_value: str, saga_key: str) -> None:
        self._map[index_key(id_kind, id_value)] = saga_key
        self.updates += 1

    def __len__(self) -> int:
        return len(self._map)

    async def start(self, options: dict[str, Any]) -> None:
        """Load the whole topic, then follow it in the background."""
        consumer = Consumer(options, group_id=None, max_records=5000)
        await consumer.start()
        self._consumer = consumer
        parts = [TopicPartition(self.topic, p) for p in sorted(await consumer.partitions_for(self.topic))]
        consumer.assign(parts)
        await consumer.seek_to_beginning(parts)
        ends = await consumer.end_offsets(parts)
        for _ in range(10_000):  # bounded catch-up; each poll returns up to 5000 records
            self._apply(await consumer.poll(timeout_ms=200))
            if all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                break
        self._reader = asyncio.create_task(self._follow(consumer))

    async def _follow(self, consumer: Consumer) -> None:
        while True:
            self._apply(await consumer.poll(timeout_ms=500))

    def _apply(self, records: list[Any]) -> None:
        for rec in records:
            if rec.key is None:
                continue
            if rec.value is None:
                self._map.pop(rec.key.decode(), None)
            else:
                self._map[rec.key.decode()] = rec.value.decode()
            self.updates += 1

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._consumer is not None:
            await self._consumer.stop()
