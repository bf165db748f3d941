"""A read_committed consumer of every command topic: what downstream systems would receive.

It records each command's idempotency key and when it became visible, which gives the
verdict its duplicates and losses and each fault its time to recover.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from engine.codec import DecodeError, decode
from engine.contracts import Command
from engine.kafka.client import Consumer, KafkaError
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import TopicPartition
from engine.runtime.names import TARGETS, TopicNames
from engine.settings import Settings

log = logging.getLogger("q2c.chaos")


class CommandObserver:
    """Tails the command topics from the beginning until stopped."""

    def __init__(self, settings: Settings, connection: KafkaConnection) -> None:
        self.settings = settings
        self.connection = connection
        self.keys: list[str] = []
        self.arrivals: list[float] = []  # monotonic time each command became visible
        self.undecodable = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        names = TopicNames(self.settings.topic_prefix)
        consumer = Consumer(self.connection.options(), group_id=None, max_records=2000)
        await consumer.start()
        topics = [names.commands(t) for t in TARGETS]
        parts = [
            TopicPartition(t, p) for t in topics for p in sorted(await consumer.partitions_for(t))
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(parts)
        self._task = asyncio.create_task(self._run(consumer), name="chaos-observer")

    async def _run(self, consumer: Consumer) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    records = await consumer.poll(timeout_ms=200)
                except KafkaError:
                    await asyncio.sleep(0.5)  # the broker is away: the consumer reconnects
                    continue
                now = time.monotonic()
                for rec in records:
                    try:
                        model = decode(
                            rec.value or b"",
                            topic=rec.topic,
                            partition=rec.partition,
                            offset=rec.offset,
                        )
                    except DecodeError:
                        self.undecodable += 1
                        continue
                    if isinstance(model, Command):
                        self.keys.append(model.header.idempotency_key)
                        self.arrivals.append(now)
        finally:
            await consumer.stop()

    async def settle(self, expected: int, timeout_s: float) -> None:
        """Wait (bounded) until at least `expected` commands were seen and no more arrive."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.keys) >= expected and (
                not self.arrivals or time.monotonic() - self.arrivals[-1] > 3.0
            ):
                return
            await asyncio.sleep(0.5)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, 15)
