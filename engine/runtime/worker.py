"""The saga worker: a consumer-group member that runs tasks transactionally.

Per poll and task: hand each record to the processor (which stages state and returns the
records to write) and keep its outputs in the task's checkpoint (engine.runtime.checkpoint),
committed by time, size or as soon as the consumer is idle: in exactly-once mode one
transaction of the task's producer with the input offsets, in at-least-once mode on one
idempotent producer with the offsets committed after every output was acknowledged. Fenced or
failed commits roll back the staged state and rewind to the committed offsets, so a record's
effects are written exactly once (at-least-once: per-saga dedupe absorbs redelivery).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engine.exceptions_queue.queue import EXCEPTION_STATE, exception_age
from engine.kafka.client import (
    Consumer,
    KafkaError,
    Producer,
    TransactionalProducer,
    end_offsets,
    read_latest,
)
from engine.kafka.connection import KafkaConnection
from engine.kafka.link import LINK, observe_client_logs
from engine.kafka.records import InRecord, OutRecord, TopicPartition
from engine.observability import metrics
from engine.runtime.checkpoint import (
    AtLeastOnceCheckpoint,
    Checkpoint,
    CommitPolicy,
    ExactlyOnceCheckpoint,
)
from engine.runtime.full_collections import FullCollections, automatic_full_collections_off
from engine.runtime.limits import RecordTooLarge
from engine.runtime.names import TopicNames
from engine.runtime.processor import Processor
from engine.runtime.recovery import (
    NOT_READY_AFTER_FAILURES,
    Action,
    Decision,
    decide,
    retry_delay_s,
)
from engine.runtime.store import SagaStore
from engine.runtime.task import Task
from engine.sagas import SAGAS, cycle_measure, is_finished
from engine.settings import ProcessingMode, Settings

log = logging.getLogger("q2c.worker")

Clock = Callable[[], datetime]


# Bounds on calls that wait for a broker: a gone broker must not hold the worker forever.
CLOSE_TIMEOUT_S = 10.0
PROBE_EVERY_S = 1.0
# The longest the processing loop runs without giving the event loop (HTTP, heartbeats) a turn.
YIELD_EVERY_S = 0.01


# Restored sagas indexed per loop (about 5 us each).
INDEX_SLICE = 2_000


def new_store() -> SagaStore:
    """A task's store as the worker makes it: the registry's final states and cycle measures."""
    return SagaStore(finished=is_finished, cycle_measures=cycle_measure)


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Recovering:
    """A task taken out of service to get a new producer, and when to try (again)."""

    since: float
    reason: str
    generation: int
    due: float
    attempts: int = 0


class Worker:
    """Runs the saga processor for the partitions the group assigns to this member."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = system_clock,
        worker_id: str = "worker",
        connection: KafkaConnection | None = None,
    ) -> None:
        """`connection`: the process's (built from `settings` when not given)."""
        self.settings = settings
        self.names = TopicNames(settings.topic_prefix)
        self.clock = clock
        self.worker_id = worker_id
        self.exactly_once = settings.processing_mode is ProcessingMode.EXACTLY_ONCE
        self.connection = connection or KafkaConnection.from_settings(settings)
        self._options = self.connection.options()
        self._group = settings.group_id
        self.tasks: dict[int, Task] = {}
        self.processor = Processor(self.names, clock=clock, worker_id=worker_id)
        self._consumer: Consumer | None = None
        self._shared_producer: Producer | None = None
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self.ready = asyncio.Event()
        self.batches = 0
        self._gauges_at = 0.0
        self._expired_at = 0.0
        self._acked_offsets: dict[TopicPartition, int] = {}
        # Whether the last poll drained what the consumer had buffered (see `_process_batch`).
        self._idle = True
        self._policy = CommitPolicy(
            interval_s=settings.commit_interval_ms / 1000, max_records=settings.commit_max_records
        )
        # Tasks revoked by the rebalance in progress, kept in case their partition comes back.
        self._suspended: dict[int, Task] = {}
        # Assigned partitions whose task lost its producer and is being rebuilt in place.
        self._recovering: dict[int, Recovering] = {}
        interval = settings.gc_full_interval_s
        self._full_collections = FullCollections(interval) if interval > 0 else None

    @property
    def input_topics(self) -> list[str]:
        return [*self.names.inbound, self.names.inbox]

    # -- lifecycle ----------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Finish the batch in flight, commit, leave the group (what SIGTERM does)."""
        self._stopping.set()

    async def run(self) -> None:
        """Process until `request_stop` (or SIGTERM/SIGINT when run from the CLI)."""
        observe_client_logs()  # Kafka lost/back for /ready, whatever the log set-up
        await self.processor.start(self._options)
        if not self.exactly_once:
            self._shared_producer = Producer(self._options, client_id=f"q2c-{self.worker_id}")
            await self._shared_producer.start()
        consumer = Consumer(
            self._options,
            group_id=self._group,
            read_committed=True,
            max_records=self.settings.max_batch,
            client_id=f"q2c-{self.worker_id}",
        )
        self._consumer = consumer
        await consumer.start()
        consumer.subscribe(self.input_topics, self._on_assigned, self._on_revoked)
        watch = asyncio.create_task(self._watch_kafka(consumer), name="q2c-kafka-watch")
        gc_schedule = self._full_collections
        try:
            with automatic_full_collections_off() if gc_schedule else contextlib.nullcontext():
                while not self._stopping.is_set():
                    records = await consumer.poll(timeout_ms=100)
                    await self._process_batch(records)
                    await self._fire_timers()
                    await self._route_correlated()
                    await self._expire_pending()
                    await self._recover_tasks()
                    self._index_restored()
                    if time.monotonic() - self._gauges_at > 2.0:
                        await self._refresh_gauges()
                    if gc_schedule is not None:
                        gc_schedule.run_if_due()  # between polls, never inside a step
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
            async with self._lock:
                for task in list(self.tasks.values()):
                    # Bounded: with the broker gone the work is re-read by the next owner.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._commit(task), CLOSE_TIMEOUT_S)
                await self._commit_acked_offsets()
                for task in list(self.tasks.values()):
                    await self._close_task(task)
                self.tasks.clear()
            await consumer.stop()  # leaves the group
            if self._shared_producer is not None:
                await self._shared_producer.stop()
            await self.processor.stop()

    def readiness(self) -> tuple[bool, str | None]:
        """(ready, why not): not ready while starting, while Kafka is unreachable, while an
        assigned task is out of service or keeps failing to commit."""
        if not self.ready.is_set():
            return False, "starting: no partitions assigned yet"
        reasons = []
        unreachable = LINK.unreachable_reason()
        if unreachable is not None:
            reasons.append(unreachable)
        now = time.monotonic()
        for p, rec in sorted(self._recovering.items()):
            reasons.append(
                f"task {p} out of service for {now - rec.since:.0f} s "
                f"(recovery attempt {rec.attempts + 1}): {rec.reason}"
            )
        for p, task in sorted(self.tasks.items()):
            if task.failures >= NOT_READY_AFTER_FAILURES:
                reasons.append(
                    f"task {p}: {task.failures} commits failed in a row, last: {task.last_error}"
                )
        return (not reasons, "; ".join(reasons) or None)

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)

    # -- rebalance ----------------------------------------------------------------------------

    async def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        metrics.REBALANCES.labels("assigned").inc()
        async with self._lock:
            assert self._consumer is not None
            generation = self._consumer.generation()
            # A new assignment gives every partition a fresh producer: nothing left to rebuild.
            self._recovering.clear()
            new = sorted({tp.partition for tp in assigned} - set(self.tasks))
            producers: dict[int, Producer] = {}
            for p in new:
                try:
                    producers[p] = await self._task_producer(p)
                except Exception as exc:
                    self._not_opened(p, assigned, generation, exc)
            # Read after the producers started: their start fenced any other owner and ended
            # its open transaction, so these ends are stable.
            changelogs = [self._changelog(p) for p in producers]
            try:
                ends = await end_offsets(self._options, changelogs) if producers else {}
            except Exception as exc:
                for p, producer in producers.items():
                    await self._stop_producer(producer)
                    self._not_opened(p, assigned, generation, exc)
                producers, ends = {}, {}
            for p, producer in producers.items():
                kept = self._suspended.pop(p, None)
                try:
                    task = await self._open_task(p, producer, ends[self._changelog(p)], kept)
                except Exception as exc:
                    await self._stop_producer(producer)
                    self._not_opened(p, assigned, generation, exc)
                    continue
                self.tasks[p] = task
            for task in self.tasks.values():
                task.generation = generation
            # Stores of partitions that went elsewhere go stale from now on.
            self._suspended.clear()
            await self._seek_assigned(assigned)
            self.ready.set()

    def _not_opened(
        self, p: int, assigned: set[TopicPartition], generation: int, exc: Exception
    ) -> None:
        """A partition assigned while the broker is not fully back (seen after a broker
        stall: a producer's start found no broker metadata) is paused and left to
        `_recover_tasks`, which retries it: an error escaping the rebalance callback would leave
        the partition assigned and never processed."""
        assert self._consumer is not None
        self._consumer.pause([tp for tp in assigned if tp.partition == p])
        now = time.monotonic()
        reason = f"not opened after the assignment: {type(exc).__name__}: {exc}"
        self._recovering[p] = Recovering(since=now, reason=reason, generation=generation, due=now)
        log.warning("task %s %s; retrying", p, reason)

    async def _stop_producer(self, producer: Producer) -> None:
        if self.exactly_once:  # at least once, the producer is the worker's shared one
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), CLOSE_TIMEOUT_S)

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        # The lock waits for the batch in flight to commit before the partitions go.
        metrics.REBALANCES.labels("revoked").inc()
        async with self._lock:
            for p in sorted({tp.partition for tp in revoked}):
                if p in self.tasks:
                    await self._commit(self.tasks[p])  # the open checkpoint, if any
                self._recovering.pop(p, None)
                task = self.tasks.pop(p, None)
                if task is not None:
                    await self._close_task(task)
                    # Eager rebalances revoke everything: most partitions come straight back.
                    self._suspended[p] = task
            await self._commit_acked_offsets()

    def _changelog(self, partition: int) -> TopicPartition:
        return TopicPartition(self.names.state, partition)

    async def _task_producer(self, partition: int) -> Producer:
        if not self.exactly_once:
            assert self._shared_producer is not None
            if self._shared_producer.broken:
                await self._replace_shared_producer()
            return self._shared_producer
        producer = TransactionalProducer(
            self._options,
            transactional_id=f"{self._group}.task.{partition}",
            transaction_timeout_ms=self.settings.transaction_timeout_ms,
            client_id=f"q2c-{self.worker_id}-t{partition}",
            linger_ms=2,
        )
        # Starting fences any zombie with this transactional id and completes (aborts) its
        # open transaction, so the offsets and state read after it are stable.
        try:
            await producer.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), CLOSE_TIMEOUT_S)
            raise
        return producer

    async def _replace_shared_producer(self) -> None:
        """At-least-once: a dead idempotent producer is replaced for every task at once."""
        old = self._shared_producer
        fresh = Producer(self._options, client_id=f"q2c-{self.worker_id}")
        await fresh.start()
        self._shared_producer = fresh
        for task in self.tasks.values():
            task.producer = fresh
        if old is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(old.stop(), CLOSE_TIMEOUT_S)

    async def _open_task(
        self, partition: int, producer: Producer, changelog_end: int, kept: Task | None
    ) -> Task:
        """The task for a newly assigned partition, its store restored from the changelog, or
        `kept` (this worker's own task from before the rebalance) when the changelog has not
        moved since its last commit: nobody else processed the partition in between."""
        if kept is not None and kept.changelog_end == changelog_end:
            kept.producer = producer
            metrics.STORES_KEPT.inc()
            log.info("task %s kept its store (changelog unchanged since its commit)", partition)
            return kept
        task = Task(
            partition=partition,
            producer=producer,
            changelog_end=changelog_end,
            store=new_store(),
        )
        task.checkpoint = self._checkpoint(task)
        began = time.perf_counter()
        latest = await read_latest(self._options, [TopicPartition(self.names.state, partition)])
        task.store.restore_latest(latest.values)
        restored = latest.records
        if self.exactly_once:
            task.committed_offsets.update(task.store.input_offsets)
        metrics.RESTORE_SECONDS.observe(time.perf_counter() - began)
        metrics.RESTORED_RECORDS.inc(restored)
        log.info("task %s restored %s changelog records", partition, restored)
        return task

    def _checkpoint(self, task: Task) -> Checkpoint:
        counts = self.processor.counts
        if self.exactly_once:
            return ExactlyOnceCheckpoint(task, self.names, counts, self._group)
        return AtLeastOnceCheckpoint(task, self.names, counts, self._acked)

    def _acked(self, offsets: dict[TopicPartition, int]) -> None:
        """At-least-once: offsets of every task go to the broker in one commit per poll."""
        self._acked_offsets.update(offsets)

    async def _close_task(self, task: Task) -> None:
        task.suspend()
        if self.exactly_once:
            # Bounded: with the broker gone, a flush of undelivered batches would wait for it.
            with contextlib.suppress(KafkaError, TimeoutError):
                await asyncio.wait_for(task.producer.stop(), CLOSE_TIMEOUT_S)

    def _task_partitions(self, task: Task) -> list[TopicPartition]:
        assert self._consumer is not None
        return [tp for tp in self._consumer.assignment() if tp.partition == task.partition]

    async def _rewind(self, task: Task, touched: set[TopicPartition]) -> None:
        """Back to what this task last committed, for the batch's partitions and any waiters.

        Offsets known from our own commits are used first: the broker may not have
        materialised the offsets of a transaction that just committed, and re-reading records
        already committed would duplicate their dead letters and forwards.
        """
        assert self._consumer is not None
        partitions = touched | task.waiting.partitions()
        task.waiting.clear()
        unknown: set[TopicPartition] = set()
        for tp in partitions:
            task.consumed.pop(tp, None)
            offset = task.committed_offsets.get(tp)
            if offset is None:
                unknown.add(tp)
            else:
                self._consumer.seek(tp, offset)
        if unknown:
            await self._consumer.seek_to_committed(unknown)

    async def _seek_assigned(self, assigned: set[TopicPartition]) -> None:
        """Start each partition where its task's own changelog record says.

        Others start where the consumer itself resolves them (the group's committed offset,
        else the earliest). No explicit seek_to_beginning here: that reset is applied lazily
        and could land after the first records were already handed out, re-delivering them.
        """
        assert self._consumer is not None
        for tp in assigned:
            task = self.tasks.get(tp.partition)
            offset = task.committed_offsets.get(tp) if task is not None else None
            if offset is not None:
                self._consumer.seek(tp, offset)

    # -- processing ---------------------------------------------------------------------------

    async def _process_batch(self, records: list[InRecord]) -> None:
        """Process a poll into the tasks' checkpoints, then commit those that are due."""
        by_task: dict[int, list[InRecord]] = defaultdict(list)
        for rec in records:
            by_task[rec.partition].append(rec)
        async with self._lock:
            now = self.clock()
            slice_began = time.perf_counter()
            for p, recs in by_task.items():
                task = self.tasks.get(p)
                if task is None:
                    continue  # revoked while the batch was in flight: the new owner re-reads
                outputs: list[OutRecord] = []
                for rec in recs:
                    outputs += self.processor.handle(task, rec, now)
                    task.consumed[TopicPartition(rec.topic, rec.partition)] = rec.offset + 1
                    if time.perf_counter() - slice_began > YIELD_EVERY_S:
                        # A batch of costly records must not starve /health and the API.
                        await asyncio.sleep(0)
                        slice_began = time.perf_counter()
                task.checkpoint.stage(outputs, recs)
            # Less than a full batch: nothing more is buffered, so waiting would only add
            # latency. Tasks commit independently (one producer each in exactly-once mode):
            # overlapping their broker round trips is where the throughput is.
            self._idle = len(records) < self.settings.max_batch
            await self._commit_due()
            await self._commit_acked_offsets()
            if records:
                self.batches += 1

    async def _commit_due(self) -> None:
        """Commit the checkpoints the commit policy says are due (sooner when the last poll
        found nothing more buffered)."""
        due = [t for t in self.tasks.values() if t.checkpoint.due(self._policy, idle=self._idle)]
        await asyncio.gather(*(self._commit(task) for task in due))

    async def _commit(self, task: Task) -> None:
        """Commit the task's checkpoint; on failure abort it, rewind, and recover when the
        producer cannot go on (engine.runtime.recovery)."""
        checkpoint = task.checkpoint
        if checkpoint.empty:
            return
        assert self._consumer is not None
        began = time.perf_counter()
        records, touched = checkpoint.records, checkpoint.touched
        try:
            delivered, offsets = await checkpoint.commit()
        except Exception as exc:
            await self._commit_aborted(task, exc, records, touched)
            return
        task.failures = 0
        LINK.back()
        checkpoint.committed(delivered, offsets)
        metrics.TXN_COMMIT_SECONDS.observe(time.perf_counter() - began)
        wall = time.time()
        for rec in records:
            metrics.END_TO_END_SECONDS.observe(max(0.0, wall - rec.timestamp_ms / 1000))

    async def _commit_aborted(
        self, task: Task, exc: Exception, records: list[InRecord], touched: set[TopicPartition]
    ) -> None:
        if not isinstance(exc, RecordTooLarge) and await self._commit_failed(task, exc):
            return
        if isinstance(exc, RecordTooLarge):
            # Which event grew the state shows only step by step: re-run the batch with
            # every step's state checked, so that event is dead-lettered.
            log.warning("task %s: %s; re-running the batch step by step", task.partition, exc)
            task.check_states = True
            metrics.TXN_ABORTS.labels("too_large").inc()
        else:
            log.warning(
                "task %s: commit failed (%s: %s); rolling back and rewinding",
                task.partition,
                type(exc).__name__,
                exc,
            )
            metrics.TXN_ABORTS.labels("error").inc()
        for rec in records:
            metrics.RECORDS_RETRIED.labels(self.names.logical(rec.topic)).inc()
        try:
            await task.checkpoint.abort()
        except Exception as abort_exc:
            # The producer's transaction state is unknown now: only a new one is safe.
            reason = f"abort failed after {type(exc).__name__}: {type(abort_exc).__name__}"
            await self._take_out_of_service(task, Decision(Action.RECREATE, reason))
            return
        await self._rewind(task, touched)

    async def _commit_failed(self, task: Task, exc: Exception) -> bool:
        """Count the failure and decide (engine.runtime.recovery); True when the task was taken
        out of service, False when the caller rolls back and retries with the same producer."""
        assert self._consumer is not None
        task.failures += 1
        task.last_error = f"{type(exc).__name__}: {exc}"[:300]
        decision = decide(
            exc,
            producer_broken=task.producer.broken,
            generation_moved=self._consumer.generation() != task.generation,
            failures=task.failures,
        )
        if decision.action is Action.RETRY:
            return False
        await self._take_out_of_service(task, decision)
        return True

    async def _take_out_of_service(self, task: Task, decision: Decision) -> None:
        """Stop reading the task's partitions and drop its producer and uncommitted work.

        DROP waits for the group to reassign the partition (its new owner re-reads from the
        committed offsets); RECREATE rebuilds the task here once `decision.delay_s` passed.
        """
        assert self._consumer is not None
        p = task.partition
        self.tasks.pop(p, None)
        self._consumer.pause(self._task_partitions(task))
        await self._close_task(task)
        if decision.action is Action.DROP:
            log.warning("task %s fenced by a newer owner; dropping it (%s)", p, decision.reason)
            metrics.TXN_ABORTS.labels("fenced").inc()
            return
        log.warning("task %s out of service, rebuilding its producer: %s", p, decision.reason)
        metrics.TXN_ABORTS.labels("recreate").inc()
        now = time.monotonic()
        self._recovering[p] = Recovering(
            since=now,
            reason=decision.reason,
            generation=task.generation,
            due=now + decision.delay_s,
        )

    async def _recover_tasks(self) -> None:
        """Rebuild due out-of-service tasks: a new producer (its start fences the old one and
        aborts its open transaction), then restore from the changelog and resume from the
        offsets the task last committed. A group change meanwhile hands the job to the
        rebalance; a failure (broker still gone) retries with a capped backoff."""
        if not self._recovering:
            return
        assert self._consumer is not None
        async with self._lock:
            for p, rec in list(self._recovering.items()):
                now = time.monotonic()
                if now < rec.due or self._recovering.get(p) is not rec:
                    continue
                assigned = {tp.partition for tp in self._consumer.assignment()}
                if self._consumer.generation() != rec.generation or p not in assigned:
                    del self._recovering[p]  # the rebalance gives the partition its owner
                    continue
                try:
                    producer = await self._task_producer(p)
                    try:
                        ends = await end_offsets(self._options, [self._changelog(p)])
                        task = await self._open_task(p, producer, ends[self._changelog(p)], None)
                    except BaseException:
                        with contextlib.suppress(Exception):
                            await asyncio.wait_for(producer.stop(), CLOSE_TIMEOUT_S)
                        raise
                except Exception as exc:
                    rec.due = time.monotonic() + retry_delay_s(rec.attempts)
                    rec.attempts += 1
                    log.warning(
                        "task %s: recovery attempt %s failed (%s); next in %.0f s",
                        p,
                        rec.attempts,
                        type(exc).__name__,
                        rec.due - time.monotonic(),
                    )
                    continue
                del self._recovering[p]
                task.generation = rec.generation
                self.tasks[p] = task
                partitions = set(self._task_partitions(task))
                await self._rewind(task, partitions)
                self._consumer.resume(partitions)
                metrics.TASK_RECOVERIES.inc()
                LINK.back()
                log.warning(
                    "task %s back in service after %.1f s (%s)",
                    p,
                    time.monotonic() - rec.since,
                    rec.reason,
                )

    async def _watch_kafka(self, consumer: Consumer) -> None:
        """Settle the link's suspicions once a second with a metadata request, in a task of
        its own: the processing loop may be blocked in a commit the outage holds up."""
        LINK.probing = True
        try:
            while not self._stopping.is_set():
                await asyncio.sleep(PROBE_EVERY_S)
                if LINK.quiet:
                    LINK.probe_result(await consumer.reachable())
        finally:
            LINK.probing = False

    async def _commit_acked_offsets(self) -> None:
        """At-least-once: commit the offsets whose outputs were all acknowledged.

        A failed commit only means those records are read again after a restart, where the
        sagas' event-id dedupe makes them no-ops.
        """
        if not self._acked_offsets or self._consumer is None:
            return
        offsets, self._acked_offsets = self._acked_offsets, {}
        try:
            await self._consumer.commit(offsets)
        except KafkaError:
            log.warning("offset commit failed; the records will be re-read and deduplicated")

    async def _fire_timers(self) -> None:
        now = self.clock()
        async with self._lock:
            for task in list(self.tasks.values()):
                outputs = self.processor.fire_timers(task, now)
                if outputs or task.store.dirty:
                    task.checkpoint.stage(outputs)
            # Into the open checkpoints, committed by the same policy as records: committing
            # here every loop would cost a transaction per task per poll under load.
            await self._commit_due()
            await self._commit_acked_offsets()

    async def _expire_pending(self) -> None:
        """Delete sagas that never started and had no event for `pending_retention_s` (made-up
        correlation ids would otherwise keep them in the compacted changelog forever), and,
        with `finished_retention_s`, finished sagas idle that long (a changelog tombstone)."""
        wall = time.monotonic()
        if wall - self._expired_at < 1.0:
            return
        self._expired_at = wall
        now = self.clock()
        pending_cutoff = now - timedelta(seconds=self.settings.pending_retention_s)
        keep_finished = self.settings.finished_retention_s
        async with self._lock:
            for task in list(self.tasks.values()):
                pending = task.store.idle_pending(pending_cutoff)
                finished = []
                if keep_finished is not None:
                    finished = task.store.idle_finished(now - timedelta(seconds=keep_finished))
                if not pending and not finished:
                    continue
                for key in (*pending, *finished):
                    task.store.stage_delete(key)
                task.checkpoint.stage(self._forgotten_ids(task, {k[1] for k in finished}))
                await self._commit(task)
                # A failed commit put them back for the next round: count only the deleted.
                for kind, keys, counter in (
                    ("pending", pending, metrics.PENDING_EXPIRED),
                    ("finished", finished, metrics.FINISHED_EXPIRED),
                ):
                    gone = [key for key in keys if task.store.get(key) is None]
                    for key in gone:
                        counter.labels(key[0]).inc()
                    if gone:
                        log.info("task %s: %s %s sagas expired", task.partition, len(gone), kind)
            await self._commit_acked_offsets()

    def _forgotten_ids(self, task: Task, saga_keys: set[str]) -> list[OutRecord]:
        """Tombstones for the correlation ids of saga keys none of whose sagas is left (all of a
        key's sagas share its partition, so this task's store knows): the correlation table
        would otherwise grow with every deal ever finished."""
        table = self.processor.correlation
        return [
            OutRecord(self.names.correlation, index.encode(), None)
            for saga_key in sorted(saga_keys)
            if not any(task.store.holds((saga_type, saga_key)) for saga_type in SAGAS)
            for index in table.keys_of(saga_key)
        ]

    async def _route_correlated(self) -> None:
        """Route waiting records whose correlation arrived; dead-letter the ones that expired."""
        now = self.clock()
        wall = time.monotonic()
        async with self._lock:
            for task in list(self.tasks.values()):
                due = wall - task.waiting_checked_at > 1.0  # expiry checks once a second
                if not task.waiting or not (task.waiting.has_ready or due):
                    continue
                if due:
                    task.waiting_checked_at = wall
                outputs, offsets = self.processor.route_waiting(
                    task, now, max_wait_s=self.settings.correlation_wait_s
                )
                if outputs or offsets or task.store.dirty:
                    task.checkpoint.stage(outputs, touched=offsets)
            await self._commit_due()
            await self._commit_acked_offsets()

    def _index_restored(self) -> None:
        """Put a slice of the restored sagas into their stores' indexes (see
        `SagaStore.restore_latest`): a few milliseconds a loop, so the loop stays responsive."""
        budget = INDEX_SLICE
        for task in list(self.tasks.values()):
            if budget <= 0:
                return
            waiting = task.store.unindexed
            if waiting:
                if not task.store.index_restored(budget):
                    log.info(
                        "task %s: its %s restored sagas are indexed",
                        task.partition,
                        len(task.store),
                    )
                budget -= waiting

    # -- gauges -------------------------------------------------------------------------------

    async def _refresh_gauges(self) -> None:
        """Saga counts by state, open exceptions and consumer lag (every few seconds)."""
        self._gauges_at = time.monotonic()
        counts: Counter[tuple[str, str]] = Counter()
        oldest: dict[str, float] = {}
        now = self.clock()
        for task in self.tasks.values():
            counts.update(task.store.state_counts())
            for (saga_type, _key), state in task.store.in_exception():
                age = exception_age(state, now)
                if age is not None:
                    seconds = age.total_seconds()
                    oldest[saga_type] = max(oldest.get(saga_type, 0.0), seconds)
        metrics.SAGAS_BY_STATE.clear()
        for (saga_type, state_name), n in counts.items():
            metrics.SAGAS_BY_STATE.labels(saga_type, state_name).set(n)
        metrics.STORE_SAGAS.set(sum(counts.values()))
        metrics.EXCEPTIONS_OPEN.clear()
        metrics.EXCEPTION_OLDEST_SECONDS.clear()
        for (saga_type, state_name), n in counts.items():
            if state_name == EXCEPTION_STATE:
                metrics.EXCEPTIONS_OPEN.labels(saga_type).set(n)
                metrics.EXCEPTION_OLDEST_SECONDS.labels(saga_type).set(oldest.get(saga_type, 0.0))
        metrics.RECORDS_WAITING.set(sum(len(t.waiting) for t in self.tasks.values()))
        await self._refresh_lag()

    async def _refresh_lag(self) -> None:
        if self._consumer is None:
            return
        assigned = self._consumer.assignment()
        if not assigned:
            return
        with contextlib.suppress(KafkaError, AssertionError):
            ends = await self._consumer.end_offsets(assigned)
            metrics.CONSUMER_LAG.clear()
            for tp, end in ends.items():
                position = await self._consumer.position(tp)
                metrics.CONSUMER_LAG.labels(self.names.logical(tp.topic), str(tp.partition)).set(
                    max(0, end - position)
                )
