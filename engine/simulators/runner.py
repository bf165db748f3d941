"""Runs one simulated platform against Kafka: consume its commands, publish its events.

At-least-once like a real adapter: commands are read read_committed in the platform's own
consumer group, and offsets are committed only after the events a command causes right away
were acknowledged. A redelivered command finds its idempotency key in the ledger and has no
second effect. Events planned for later are kept in memory and published when the simulated
clock reaches them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from engine.codec import DecodeError, decode
from engine.contracts import Command, Event
from engine.kafka.client import Consumer
from engine.kafka.connection import client_options
from engine.kafka.records import InRecord, TopicPartition
from engine.publisher import Publisher
from engine.runtime.names import TopicNames
from engine.settings import Settings
from engine.simulators.behaviour import Behaviour
from engine.simulators.faults import FaultConfig, FaultSchedule
from engine.simulators.ledger import IdempotencyLedger
from engine.simulators.timeline import Timeline

log = logging.getLogger("q2c.simulators")
Clock = Callable[[], datetime]
TIMELINE_TICK_S = 0.05
POLL_MS = 200


@dataclass
class RunnerCounters:
    """What one platform did so far."""

    commands_handled: Counter[str] = field(default_factory=Counter)
    events_published: Counter[str] = field(default_factory=Counter)
    transient_failures: int = 0
    rejected: int = 0
    outage_seconds: float = 0.0

    @property
    def handled_total(self) -> int:
        return sum(self.commands_handled.values())


class PlatformRunner:
    """One platform: a command consumer, a publisher and a timeline of planned events."""

    def __init__(
        self,
        name: str,
        behaviour: Behaviour,
        settings: Settings,
        clock: Clock,
        *,
        faults: FaultConfig,
        rng: random.Random,
    ) -> None:
        self.name = name
        self.behaviour = behaviour
        self.settings = settings
        self.clock = clock
        self.faults = FaultSchedule(faults, rng)
        self.topic = TopicNames(settings.topic_prefix).commands(behaviour.target)
        self.group_id = f"{settings.group_id}.sim-{name}"
        self.ledger = IdempotencyLedger()
        self.timeline = Timeline()
        self.counters = RunnerCounters()
        self.publisher = Publisher(settings)
        self.in_outage = False
        self._consumer: Consumer | None = None
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._started_at = 0.0

    @property
    def duplicates_suppressed(self) -> int:
        return self.ledger.duplicates_suppressed

    async def start(self) -> None:
        """Connect and start consuming (returns at once; work happens in background tasks)."""
        loop = asyncio.get_running_loop()
        await self.publisher.start()
        consumer = Consumer(
            client_options(self.settings),
            group_id=self.group_id,
            read_committed=True,
            client_id=f"q2c-sim-{self.name}",
        )
        await consumer.start()
        consumer.subscribe([self.topic], _noop, _noop)
        self._consumer = consumer
        self._started_at = loop.time()
        self._tasks = [
            asyncio.create_task(self._consume(), name=f"sim-{self.name}-consume"),
            asyncio.create_task(self._publish_due(), name=f"sim-{self.name}-timeline"),
        ]

    async def stop(self) -> None:
        """Finish the batch in flight, commit, leave the group, flush the publisher."""
        self._stopping.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)
        self._tasks = []
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()
        await self.publisher.stop()

    async def publish(self, event: Event) -> None:
        """Publish one event through the adapter-facing Publisher and count it."""
        await self.publisher.publish(event)
        self.counters.events_published[event.envelope.event_type] += 1

    # -- outage --------------------------------------------------------------------------------

    async def _sit_out_outage(self) -> bool:
        """While in the outage window, wait (a bounded slice); True if it was down."""
        elapsed = asyncio.get_running_loop().time() - self._started_at
        remaining = self.faults.outage_remaining_s(elapsed)
        self.in_outage = remaining > 0
        if not self.in_outage:
            return False
        wait = min(remaining, 0.5)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=wait)
        self.counters.outage_seconds += wait
        return True

    # -- commands ------------------------------------------------------------------------------

    async def _consume(self) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        while not self._stopping.is_set():
            if await self._sit_out_outage():
                continue
            records = await consumer.poll(timeout_ms=POLL_MS)
            if not records:
                continue
            offsets: dict[TopicPartition, int] = {}
            for rec in records:
                offsets[TopicPartition(rec.topic, rec.partition)] = rec.offset + 1
            try:
                await self._handle_batch(records)
                await consumer.commit(offsets)
            except Exception:
                # Not committed: rewind and read the batch again; the ledger skips what
                # already took effect.
                log.exception("%s: batch failed; re-reading it", self.name)
                await self._rewind(consumer, set(offsets))

    async def _rewind(self, consumer: Consumer, partitions: set[TopicPartition]) -> None:
        for tp in partitions:
            committed = await consumer.committed(tp)
            if committed is None:
                await consumer.seek_to_beginning([tp])
            else:
                consumer.seek(tp, committed)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=1.0)

    async def _handle_batch(self, records: list[InRecord]) -> None:
        # One deal's commands stay in order; different deals are handled concurrently.
        by_key: dict[bytes | None, list[Command]] = defaultdict(list)
        for rec in records:
            command = self._decode(rec)
            if command is not None:
                by_key[rec.key].append(command)
        await asyncio.gather(*(self._handle_in_order(cmds) for cmds in by_key.values()))

    def _decode(self, rec: InRecord) -> Command | None:
        try:
            model = decode(
                rec.value or b"",
                topic=rec.topic,
                partition=rec.partition,
                offset=rec.offset,
                headers=rec.headers,
                key=rec.key,
            )
        except DecodeError as exc:
            log.warning("%s: skipping unreadable command: %s", self.name, exc)
            self.counters.rejected += 1
            return None
        if not isinstance(model, Command):
            log.warning(
                "%s: skipping %s at %s@%s", self.name, type(model).__name__, rec.topic, rec.offset
            )
            self.counters.rejected += 1
            return None
        return model

    async def _handle_in_order(self, commands: list[Command]) -> None:
        for command in commands:
            await self._handle(command)

    async def _handle(self, command: Command) -> None:
        key = command.header.idempotency_key
        if self.ledger.is_duplicate(key):
            return
        attempt = 0
        while True:  # bounded: FaultSchedule.fails is False after max_consecutive_failures
            await asyncio.sleep(self.faults.latency_s())
            if not self.faults.fails(attempt):
                break
            self.counters.transient_failures += 1
            await asyncio.sleep(self.faults.backoff_s(attempt))
            attempt += 1
        reaction = self.behaviour.handle(command, self.clock())
        await asyncio.gather(*(self.publish(event) for event in reaction.now))
        for tag in reaction.cancel_tags:
            self.timeline.cancel(tag)
        for due, tag, event in reaction.later:
            self.timeline.schedule(due, tag, event)
        self.ledger.record(key)
        self.counters.commands_handled[command.header.command_type] += 1

    # -- planned events ------------------------------------------------------------------------

    async def _publish_due(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=TIMELINE_TICK_S)
            if self._stopping.is_set() or self.in_outage:
                continue
            now = self.clock()
            due = self.timeline.pop_due(now)
            results = await asyncio.gather(
                *(self.publish(event) for _, event in due), return_exceptions=True
            )
            for (tag, event), result in zip(due, results, strict=True):
                if isinstance(result, Exception):
                    # Kafka hiccup: keep the event and try again on the next tick.
                    log.warning("%s: publishing %s failed: %s", self.name, event.EVENT_TYPE, result)
                    self.timeline.schedule(now, tag, event)


async def _noop(_: set[TopicPartition]) -> None:
    return None
