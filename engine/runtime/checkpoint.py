"""A task's checkpoint: the work done since its last commit, and how each processing mode
commits it (as quixstreams' `checkpointing/` and Kafka Streams' commit interval do).

Records are processed into the open checkpoint poll after poll: their outputs are kept, their
states staged in the task's store. The checkpoint is committed when it is due: at
`CommitPolicy.max_records` records, `CommitPolicy.interval_s` after it opened, or as soon as the
consumer had nothing more buffered (a poll returned less than a full batch), so that low load
is never held back by the interval and a high load pays one commit per many polls.

Both modes write the same records (outputs, then one changelog record per changed saga):
- exactly-once: in one transaction of the task's own producer (`<group>.task.<partition>`, so a
  new owner fences a zombie per task), with the input offsets, also written to the changelog;
- at-least-once: on the shared idempotent producer, the offsets handed on for the consumer to
  commit once every output was acknowledged.

A failed commit is aborted (staged states dropped, the open transaction aborted) and the worker
decides what comes next (engine.runtime.recovery).
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from engine.kafka.client import TransactionalProducer
from engine.kafka.records import Delivered, InRecord, OutRecord, TopicPartition
from engine.runtime.limits import check_size
from engine.runtime.names import TopicNames
from engine.runtime.store import INPUT_OFFSETS_KEY, encode_input_offsets
from engine.runtime.task import Task

# Bound on aborting a transaction: a gone broker must not hold the worker forever.
ABORT_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class CommitPolicy:
    """When an open checkpoint must be committed even though more records are buffered."""

    interval_s: float = 0.1
    max_records: int = 2_000


class Checkpoint(ABC):
    """One task's uncommitted work: begin (implicitly, on the first stage), stage, commit or
    abort."""

    def __init__(self, task: Task, names: TopicNames, totals: Counter[str]) -> None:
        self.task = task
        self.names = names
        self._totals = totals  # the processor's committed outcome counts
        self.outputs: list[OutRecord] = []
        self.records: list[InRecord] = []
        self.touched: set[TopicPartition] = set()  # input partitions whose offsets move
        self.opened_at: float | None = None

    @property
    def empty(self) -> bool:
        return self.opened_at is None

    def begin(self) -> None:
        """Open the checkpoint (idempotent): its age counts from here."""
        if self.opened_at is None:
            self.opened_at = time.monotonic()

    def stage(
        self,
        outputs: Iterable[OutRecord],
        records: Iterable[InRecord] = (),
        touched: Iterable[TopicPartition] = (),
    ) -> None:
        """Add the outputs of processed `records` (their states are staged in the store) and
        the input partitions whose commit offsets they move."""
        self.begin()
        self.outputs.extend(outputs)
        for rec in records:
            self.records.append(rec)
            self.touched.add(TopicPartition(rec.topic, rec.partition))
        self.touched.update(touched)

    def due(self, policy: CommitPolicy, *, idle: bool) -> bool:
        """Whether to commit now (`idle`: the consumer had nothing more buffered)."""
        if self.opened_at is None:
            return False
        return (
            idle
            or len(self.records) >= policy.max_records
            or time.monotonic() - self.opened_at >= policy.interval_s
        )

    async def commit(self) -> tuple[list[Delivered], dict[TopicPartition, int]]:
        """Write the checkpoint; returns where each record landed and the committed offsets.

        Raises on any failure (`RecordTooLarge` before anything was written); the caller must
        then `abort`. On success the caller applies it with `committed`.
        """
        offsets = {tp: self.task.commit_offset(tp) for tp in self.touched}
        outputs = [*self.outputs, *self._changelog(), *self._offset_records(offsets)]
        return await self._write(outputs, offsets), offsets

    def committed(self, delivered: list[Delivered], offsets: dict[TopicPartition, int]) -> None:
        """Fold a successful commit into the task: store, outcomes, offsets, changelog end."""
        task = self.task
        task.store.commit()
        task.outcomes.commit(self._totals)
        task.committed_offsets.update(offsets)
        task.check_states = False
        state = self.names.state
        written = [
            d.offset for d in delivered if d.partition == task.partition and d.topic == state
        ]
        if written:
            task.changelog_end = max(written) + self.MARKER_OFFSETS
        self.reset()

    async def abort(self) -> None:
        """Drop the staged work; then end the open transaction, if any (may raise: the
        producer's state is then unknown and only a new producer is safe)."""
        self.task.store.abort()
        self.task.outcomes.discard()
        self.reset()
        await self._abort_write()

    def reset(self) -> None:
        """Forget the checkpoint's bookkeeping (the store and outcomes are the task's)."""
        self.outputs = []
        self.records = []
        self.touched = set()
        self.opened_at = None

    def _changelog(self) -> list[OutRecord]:
        records = [
            OutRecord(self.names.state, key, value, partition=self.task.partition)
            for key, value in self.task.store.staged_changelog()
        ]
        for out in records:
            check_size(f"saga state {out.key!r}", out.value or b"", out.key)
        return records

    # Offsets past the last changelog record a commit adds (a transaction's commit marker).
    MARKER_OFFSETS = 1

    def _offset_records(self, offsets: dict[TopicPartition, int]) -> list[OutRecord]:
        return []

    @abstractmethod
    async def _write(
        self, outputs: list[OutRecord], offsets: dict[TopicPartition, int]
    ) -> list[Delivered]: ...

    async def _abort_write(self) -> None:
        return None


class ExactlyOnceCheckpoint(Checkpoint):
    """Outputs, changelog and input offsets in one transaction of the task's producer."""

    MARKER_OFFSETS = 2

    def __init__(self, task: Task, names: TopicNames, totals: Counter[str], group: str) -> None:
        super().__init__(task, names, totals)
        self._group = group
        self._in_transaction = False

    def _producer(self) -> TransactionalProducer:
        producer = self.task.producer
        assert isinstance(producer, TransactionalProducer)
        return producer

    def _offset_records(self, offsets: dict[TopicPartition, int]) -> list[OutRecord]:
        # The changelog read to its end is exact where the group's offsets may lag: see
        # engine.runtime.store.INPUT_OFFSETS_KEY.
        if not offsets:
            return []
        every = {**self.task.committed_offsets, **offsets}
        return [
            OutRecord(
                self.names.state,
                INPUT_OFFSETS_KEY,
                encode_input_offsets(every),
                partition=self.task.partition,
            )
        ]

    async def _write(
        self, outputs: list[OutRecord], offsets: dict[TopicPartition, int]
    ) -> list[Delivered]:
        producer = self._producer()
        await producer.begin()
        self._in_transaction = True
        delivered = await producer.send_all(outputs)
        await producer.commit(offsets, self._group)
        self._in_transaction = False
        return delivered

    async def _abort_write(self) -> None:
        if self._in_transaction:
            self._in_transaction = False
            await asyncio.wait_for(self._producer().abort(), ABORT_TIMEOUT_S)


class AtLeastOnceCheckpoint(Checkpoint):
    """Outputs and changelog on the idempotent producer; offsets committed after the acks."""

    def __init__(
        self,
        task: Task,
        names: TopicNames,
        totals: Counter[str],
        acked: Callable[[dict[TopicPartition, int]], None],
    ) -> None:
        super().__init__(task, names, totals)
        self._acked = acked

    async def _write(
        self, outputs: list[OutRecord], offsets: dict[TopicPartition, int]
    ) -> list[Delivered]:
        delivered = await self.task.producer.send_all(outputs)
        self._acked(offsets)  # every output acknowledged: the consumer may commit these
        return delivered
