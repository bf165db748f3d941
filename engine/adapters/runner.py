"""`CommandRunner`: consume one target's command topic and call the adapter's handler, with retries.

Usage for adapter authors::

    from engine.adapters import CommandRunner, TransientError, PermanentError

    async def handle(command) -> None:          # a contract model, e.g. CreateProject
        ...                                      # call the ERP; raise TransientError on 503

    runner = CommandRunner(load_settings(), "erp", handle)
    await runner.run()                           # until runner.request_stop()

Each runner reads `q2c.commands.<target>` (read_committed: only commands of committed saga
transactions) and that topic's retry tiers in its own consumer group, so one target's outage
never blocks another target: every runner is independent and only ever delays its own topic.

Failures (see `engine.adapters.errors`): transient ones are retried in-process with
exponential backoff and jitter (tenacity, bounded by `RetryPolicy.attempts`), then moved to
`<topic>.retry-1m`, `<topic>.retry-10m` and finally `q2c.commands.dlq`, non-blocking: the
command topic keeps flowing while a command waits in a tier. Permanent failures (undecodable,
`PermanentError`, any other exception = a bug) are dead-lettered at once. While a saga key has a
command in a tier, its later commands follow it there instead of overtaking it (`KeyGate`).

`hold(command)`, when given, returns how many seconds the command's target should be left
alone (an open circuit breaker, see `engine.connectors.outbound.circuit`); the runner waits
that long before each attempt instead of burning the attempt.

Delivery is at least once: a command can be handled again after a crash between the handler
and the offset commit. Handlers see `command.header.idempotency_key`; pass a `Deduper` (see
`engine.adapters.dedupe`) to skip keys already handled.

Options for adapters that are part of the engine itself (the master-data validator, the
simulated platforms):

- `on_bug=BugPolicy.CRASH`: an unexpected exception in the handler stops `run()` with it, and
  nothing of its batch is committed, instead of dead-lettering the command. For a component
  whose bug must stop the engine rather than quietly dead-letter every command.
- `incoming_record()`, called inside the handler, is the Kafka record being handled (its
  headers carry the trace context a reply continues).
- `key_concurrency=n`: the commands of one poll are handled up to `n` saga keys at a time; one
  key's commands stay in order. Offsets are committed once the whole poll is handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from engine.adapters.dedupe import Deduper
from engine.adapters.errors import Disposition, classify, is_bug, is_transient
from engine.adapters.moves import (
    due_ms,
    first_failure_ms,
    previous_attempts,
    to_dead_letter,
    to_follow,
    to_retry,
)
from engine.adapters.ordering import KeyGate
from engine.adapters.policy import RetryPolicy, TierTopics
from engine.codec import DecodeError, decode_consumed
from engine.contracts import Command
from engine.dlq.headers import DeadLetterStage, Failure
from engine.kafka.client import CommitFailedError, Consumer, Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import InRecord, OutRecord, TopicPartition
from engine.runtime.names import TopicNames
from engine.settings import Settings

log = logging.getLogger("q2c.adapters")
Handler = Callable[[Any], Awaitable[None]]
RESTORE_IDLE_S = 30.0
_incoming: contextvars.ContextVar[InRecord] = contextvars.ContextVar("q2c_incoming_record")


def incoming_record() -> InRecord:
    """The record whose command the running handler was called for (only inside a handler)."""
    try:
        return _incoming.get()
    except LookupError:
        raise RuntimeError("incoming_record() is only available inside a handler") from None


class BugPolicy(StrEnum):
    """What a runner does when its handler raises something that is neither transient nor
    permanent (a bug)."""

    DEAD_LETTER = "dead-letter"  # third-party adapters: park the command, keep going
    CRASH = "crash"  # engine components: stop, uncommitted, and let the process exit


@dataclass
class RunnerCounts:
    """What the runner did (for tests, logs and, later, metrics)."""

    handled: int = 0
    duplicates: int = 0
    retried: int = 0  # moved to a retry tier after failing
    followed: int = 0  # moved to a retry tier behind an earlier command of its key
    dead_lettered: int = 0
    attempts: int = 0  # handler calls
    held: int = 0  # waits while the target's circuit was open
    by_tier: dict[int, int] = field(default_factory=dict)


class CommandRunner:
    """Runs one adapter's handler over one target's command topic and its retry tiers."""

    def __init__(
        self,
        settings: Settings,
        target: str,
        handler: Handler,
        *,
        policy: RetryPolicy | None = None,
        dedupe: Deduper | None = None,
        group_id: str | None = None,
        clock: Callable[[], float] = time.time,
        hold: Callable[[Any], float] | None = None,
        on_bug: BugPolicy = BugPolicy.DEAD_LETTER,
        key_concurrency: int = 1,
        read_committed: bool = True,
        connection: KafkaConnection | None = None,
    ) -> None:
        """`connection`: the process's (built from `settings` when not given)."""
        if key_concurrency < 1:
            raise ValueError("key_concurrency must be at least 1")
        self.settings = settings
        self.connection = connection or KafkaConnection.from_settings(settings)
        self.target = target
        self.handler = handler
        self.policy = policy or RetryPolicy()
        self.dedupe = dedupe
        self.names = TopicNames(settings.topic_prefix)
        self.topics = TierTopics.of(self.names.commands(target), self.policy)
        self.dlq_topic = self.names.dlq(self.topics.command)
        self.group_id = group_id or f"{settings.group_id}.adapter.{target}"
        self.processor = f"q2c-adapter-{target}"
        self.clock = clock
        self.hold = hold
        self.on_bug = on_bug
        self.key_concurrency = key_concurrency
        self.read_committed = read_committed
        self.counts = RunnerCounts()
        self.polls_done = 0  # polls whose records were all handled (and offsets committed)
        self.gate = KeyGate()
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._delayed: dict[TopicPartition, deque[InRecord]] = {}
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None

    def request_stop(self) -> None:
        """Stop after the record in hand (its offset is committed first)."""
        self._stop.set()

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    async def polled_through(self, ends: dict[TopicPartition, int]) -> bool:
        """Whether this runner's consumer has read up to `ends` (False before it runs or while
        it does not own them). Records read by then are handled once `polls_done` moves on."""
        consumer = self._consumer
        if consumer is None:
            return False
        try:
            return all([await consumer.position(tp) >= end for tp, end in ends.items()])
        except Exception:  # not assigned (yet): aiokafka raises IllegalStateError
            return False

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Consume until `request_stop()`; the consumer and producer are closed on the way out."""
        options = self.connection.options()
        consumer = Consumer(
            options,
            group_id=self.group_id,
            client_id=self.processor,
            read_committed=self.read_committed,
        )
        producer = Producer(options, client_id=self.processor)
        await consumer.start()
        await producer.start()
        self._consumer, self._producer = consumer, producer
        try:
            consumer.subscribe(self.topics.all, self._on_assigned, self._on_revoked)
            while not self._stop.is_set():
                await self._step(consumer, producer)
        finally:
            self._consumer = self._producer = None
            with contextlib.suppress(Exception):
                await producer.stop()
            await consumer.stop()

    async def _on_assigned(self, partitions: set[TopicPartition]) -> None:
        tiers = {tp for tp in partitions if tp.topic in self.topics.tiers}
        await self._restore_gate(tiers)
        self.ready.set()

    async def _on_revoked(self, partitions: set[TopicPartition]) -> None:
        # Buffered tier records are uncommitted, so the next owner reads them again; the gate
        # is rebuilt from the topics on the next assignment.
        for tp in partitions:
            self._delayed.pop(tp, None)
        self.gate.clear()

    async def _restore_gate(self, tiers: set[TopicPartition]) -> None:
        """Count the commands queued in our tier partitions (committed offset .. end).

        Without this, a restarted runner would let a key's new command overtake one that
        waited in a tier while it was down.
        """
        self.gate.clear()
        if not tiers or self._consumer is None:
            return
        starts = {tp: (await self._consumer.committed(tp)) or 0 for tp in tiers}
        # Asked through the group's own consumer first: usually nothing waits in a tier, and a
        # second consumer would slow every rebalance (its join waits on this callback).
        ends = await self._consumer.end_offsets(tiers)
        pending = {tp for tp in tiers if ends[tp] > starts[tp]}
        if not pending:
            return
        reader = Consumer(self.connection.options(), group_id=None, max_records=5000)
        await reader.start()
        try:
            reader.assign(pending)
            for tp in pending:
                reader.seek(tp, starts[tp])
            loop = asyncio.get_running_loop()
            deadline = loop.time() + RESTORE_IDLE_S
            while pending and loop.time() < deadline:
                for rec in await reader.poll(timeout_ms=200):
                    tp = TopicPartition(rec.topic, rec.partition)
                    if rec.offset < ends[tp]:
                        self.gate.hold(rec.key or b"", self.topics.tier_of(rec.topic))
                for tp in list(pending):
                    if await reader.position(tp) >= ends[tp]:
                        pending.discard(tp)
            if pending:
                raise TimeoutError(f"could not read retry tiers {sorted(map(str, pending))}")
        finally:
            await reader.stop()

    # -- the loop -----------------------------------------------------------------------------

    async def _step(self, consumer: Consumer, producer: Producer) -> None:
        records = await consumer.poll(timeout_ms=self._poll_timeout_ms())
        offsets: dict[TopicPartition, int] = {}
        fresh: list[InRecord] = []
        for rec in records:
            tp = TopicPartition(rec.topic, rec.partition)
            if rec.topic == self.topics.command:
                fresh.append(rec)
                offsets[tp] = rec.offset + 1
            else:
                # Tier records wait in memory until due; the partition pauses meanwhile so the
                # buffer stays bounded by one fetch.
                self._delayed.setdefault(tp, deque()).append(rec)
                consumer.pause([tp])
        await self._process_fresh(fresh, producer)
        offsets.update(await self._process_due(producer))
        for tp, queue in list(self._delayed.items()):
            if not queue:
                del self._delayed[tp]
                consumer.resume([tp])
        if offsets:
            try:
                await consumer.commit(offsets)
            except CommitFailedError:
                # The group rebalanced under this poll: the partitions' new owner handles these
                # commands again, which idempotency keys make harmless.
                log.warning(
                    "%s: rebalanced before committing %d offsets", self.processor, len(offsets)
                )
        self.polls_done += 1

    async def _process_fresh(self, records: list[InRecord], producer: Producer) -> None:
        """Handle the command topic's records of one poll, `key_concurrency` keys at a time."""
        if self.key_concurrency == 1:
            for rec in records:
                await self._process(rec, 0, producer)
            return
        by_key: dict[bytes, list[InRecord]] = defaultdict(list)
        for rec in records:
            by_key[rec.key or b""].append(rec)
        slots = asyncio.Semaphore(self.key_concurrency)

        async def in_order(batch: list[InRecord]) -> None:
            async with slots:
                for rec in batch:
                    await self._process(rec, 0, producer)

        tasks = [asyncio.create_task(in_order(batch)) for batch in by_key.values()]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            # A failure of one key (a crash-policy bug) cancels the rest and propagates as
            # itself (not an ExceptionGroup), so the caller sees the handler's error; nothing
            # of the poll is committed.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    def _poll_timeout_ms(self) -> int:
        heads = [due_ms(q[0]) for q in self._delayed.values() if q]
        if not heads:
            return 200
        return max(0, min(200, min(heads) - self._now_ms()))

    async def _process_due(self, producer: Producer) -> dict[TopicPartition, int]:
        offsets: dict[TopicPartition, int] = {}
        for tp, queue in self._delayed.items():
            tier = self.topics.tier_of(tp.topic)
            # Within a tier partition, records were queued in due order, so stop at the first
            # one not due yet.
            while queue and due_ms(queue[0]) <= self._now_ms() and not self._stop.is_set():
                rec = queue.popleft()
                await self._process(rec, tier, producer)
                offsets[tp] = rec.offset + 1
        return offsets

    async def _process(self, rec: InRecord, tier: int, producer: Producer) -> None:
        """Handle one command from `tier` (0 = command topic) or move it on."""
        key = rec.key or b""
        self.gate.release(key, tier)
        follow = self.gate.follow_to(key, tier)
        if follow is not None:
            await self._move(
                producer, to_follow(rec, self.topics.topic(follow), follow, self._due(follow))
            )
            self.gate.hold(key, follow)
            self.counts.followed += 1
            return
        try:
            command = self._decode(rec)
        except DecodeError as exc:
            await self._dead_letter(producer, rec, exc, "decode", previous_attempts(rec))
            return
        ikey = command.header.idempotency_key
        if self.dedupe is not None and await self.dedupe.seen(ikey):
            self.counts.duplicates += 1
            return
        made = 0
        _incoming.set(rec)

        async def attempt() -> None:
            nonlocal made
            await self._wait_for_target(command)
            made += 1
            self.counts.attempts += 1
            await asyncio.wait_for(self.handler(command), self.policy.handler_timeout_s)

        try:
            async for try_ in AsyncRetrying(
                stop=stop_after_attempt(self.policy.attempts),
                wait=wait_exponential_jitter(
                    multiplier=self.policy.initial_backoff_s,
                    max=self.policy.max_backoff_s,
                    # Up to one base interval of jitter, so runners that failed together spread out.
                    jitter=self.policy.initial_backoff_s,
                ),
                retry=retry_if_exception(is_transient),
                reraise=True,
            ):
                with try_:
                    await attempt()
        except Exception as exc:
            if self.on_bug is BugPolicy.CRASH and is_bug(exc):
                raise
            attempts = previous_attempts(rec) + made
            if classify(exc) is Disposition.RETRY and tier < self.policy.last_tier:
                await self._retry(producer, rec, exc, tier + 1, attempts)
            else:
                stage: DeadLetterStage = (
                    "retry" if classify(exc) is Disposition.RETRY else "process"
                )
                await self._dead_letter(producer, rec, exc, stage, attempts)
            return
        if self.dedupe is not None:
            await self.dedupe.remember(ikey)
        self.counts.handled += 1
        self.counts.by_tier[tier] = self.counts.by_tier.get(tier, 0) + 1

    async def _wait_for_target(self, command: Command) -> None:
        """Wait while `hold(command)` says the target is not taking requests (an open circuit).

        Waiting here, instead of failing, keeps queued commands from spending their attempts
        and retry tiers on a target known to be down; the wait ends early on `request_stop()`.
        """
        if self.hold is None:
            return
        while not self._stop.is_set() and (delay := self.hold(command)) > 0:
            self.counts.held += 1
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=min(delay, 1.0))

    def _decode(self, rec: InRecord) -> Command:
        model = decode_consumed(rec)
        if not isinstance(model, Command):
            raise DecodeError(rec.topic, rec.partition, rec.offset, "not a command")
        return model

    def _due(self, tier: int) -> int:
        return self._now_ms() + int(self.policy.delay_of(tier) * 1000)

    def _failure(
        self, rec: InRecord, exc: BaseException, stage: DeadLetterStage, attempts: int
    ) -> Any:
        return Failure.from_exception(
            exc,
            stage=stage,
            processor=self.processor,
            task_id=f"{self.processor}/{rec.partition}",
            now_ms=self._now_ms(),
            attempts=attempts,
            first_failure_ms=first_failure_ms(rec),
        )

    async def _retry(
        self, producer: Producer, rec: InRecord, exc: BaseException, tier: int, attempts: int
    ) -> None:
        failure = self._failure(rec, exc, "retry", attempts)
        out = to_retry(rec, failure, self.topics.topic(tier), tier, self._due(tier))
        await self._move(producer, out)
        self.gate.hold(rec.key or b"", tier)
        self.counts.retried += 1
        log.warning(
            "%s-%s@%s: %s after %d attempt(s); queued in %s",
            rec.topic,
            rec.partition,
            rec.offset,
            failure.error_class,
            attempts,
            out.topic,
        )

    async def _dead_letter(
        self,
        producer: Producer,
        rec: InRecord,
        exc: BaseException,
        stage: DeadLetterStage,
        attempts: int,
    ) -> None:
        failure = self._failure(rec, exc, stage, attempts)
        await self._move(producer, to_dead_letter(rec, failure, self.dlq_topic))
        self.counts.dead_lettered += 1
        log.error(
            "%s-%s@%s: %s (%s) after %d attempt(s); dead-lettered to %s",
            rec.topic,
            rec.partition,
            rec.offset,
            failure.error_class,
            stage,
            attempts,
            self.dlq_topic,
        )

    async def _move(self, producer: Producer, out: OutRecord) -> None:
        # Wait for the ack before the source offset is committed: a lost move would lose the
        # command; a duplicated one (crash before commit) is caught by idempotency.
        await producer.send_and_wait(out)
