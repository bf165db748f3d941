"""Reads whole topics into memory and follows them: the basis of every global table."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from engine.kafka.client import Consumer
from engine.kafka.records import InRecord, TopicPartition


class TopicFollower:
    """Feeds every record of `topics` (all partitions, committed only) to `apply`.

    `start` returns once everything present at start-up was applied; later records keep
    arriving from a background task until `stop`.
    """

    def __init__(self, topics: Sequence[str], apply: Callable[[InRecord], None]) -> None:
        self.topics = list(topics)
        self._apply = apply
        self._consumer: Consumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, options: dict[str, Any], *, catch_up_timeout_s: float = 60.0) -> None:
        consumer = Consumer(options, group_id=None, max_records=5000)
        await consumer.start()
        self._consumer = consumer
        parts = [
            TopicPartition(t, p)
            for t in self.topics
            for p in sorted(await consumer.partitions_for(t))
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(parts)
        ends = await consumer.end_offsets(parts)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + catch_up_timeout_s
        while loop.time() < deadline:
            for rec in await consumer.poll(timeout_ms=200):
                self._apply(rec)
            positions = [await consumer.position(tp) for tp in ends]
            if all(pos >= end for pos, end in zip(positions, ends.values(), strict=True)):
                break
        else:
            raise TimeoutError(
                f"could not read {self.topics} to their end in {catch_up_timeout_s}s"
            )
        self._task = asyncio.create_task(self._follow(consumer))

    async def _follow(self, consumer: Consumer) -> None:
        while True:
            for rec in await consumer.poll(timeout_ms=500):
                self._apply(rec)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()
