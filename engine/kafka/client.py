"""Thin facade over aiokafka: consumers, plain and transactional producers, admin.

The rest of the engine speaks `InRecord`/`OutRecord`/`TopicPartition` and these classes, so the
client library can change in one place.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka import TopicPartition as _TP
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import (
    CommitFailedError,
    InvalidProducerEpoch,
    KafkaError,
    OutOfOrderSequenceNumber,
    ProducerFenced,
)
from aiokafka.partitioner import DefaultPartitioner, murmur2

from engine.kafka.records import Delivered, InRecord, OutRecord, TopicPartition

__all__ = [
    "CommitFailedError",
    "Consumer",
    "InvalidProducerEpoch",
    "KafkaError",
    "LatestRead",
    "OutOfOrderSequenceNumber",
    "Producer",
    "ProducerFenced",
    "TransactionalProducer",
    "end_offsets",
    "read_latest",
    "read_partition",
]

# A reader takes what one poll has (the fetched batches of its partitions), and fetches 4 MiB
# per partition at a time: a restore is bound by its round trips to the broker.
READ_MAX_RECORDS = 20_000
READ_FETCH_BYTES = 4 << 20
RebalanceCallback = Callable[[set[TopicPartition]], Awaitable[None]]


def _tp(tp: TopicPartition) -> _TP:
    return _TP(tp.topic, tp.partition)


def _ours(tp: _TP) -> TopicPartition:
    return TopicPartition(tp.topic, tp.partition)


def _in(msg: Any) -> InRecord:
    return InRecord(
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        key=msg.key,
        value=msg.value,
        headers=tuple(msg.headers or ()),
        timestamp_ms=msg.timestamp,
    )


class _Listener(ConsumerRebalanceListener):
    def __init__(self, on_assigned: RebalanceCallback, on_revoked: RebalanceCallback) -> None:
        self._assigned = on_assigned
        self._revoked = on_revoked

    async def on_partitions_revoked(self, revoked: Iterable[_TP]) -> None:
        await self._revoked({_ours(tp) for tp in revoked})

    async def on_partitions_assigned(self, assigned: Iterable[_TP]) -> None:
        await self._assigned({_ours(tp) for tp in assigned})


class Consumer:
    """A group member (or a manually assigned reader when `group_id` is None)."""

    def __init__(
        self,
        options: dict[str, Any],
        *,
        group_id: str | None,
        read_committed: bool = True,
        auto_offset_reset: str = "earliest",
        max_records: int = 500,
        client_id: str = "q2c",
        partition_fetch_bytes: int = 1 << 20,
    ) -> None:
        """`partition_fetch_bytes`: the most one fetch returns per partition (the client's
        default, 1 MiB, unless a reader wants fewer round trips)."""
        self._max_records = max_records
        self._consumer = AIOKafkaConsumer(
            **options,
            group_id=group_id,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset=auto_offset_reset,
            isolation_level="read_committed" if read_committed else "read_uncommitted",
            # Range keeps partition N of every co-partitioned topic on one member (one task).
            partition_assignment_strategy=(RangePartitionAssignor,),
            max_poll_interval_ms=300_000,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            fetch_max_wait_ms=100,
            max_partition_fetch_bytes=partition_fetch_bytes,
        )

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    def subscribe(
        self,
        topics: Sequence[str],
        on_assigned: RebalanceCallback,
        on_revoked: RebalanceCallback,
    ) -> None:
        self._consumer.subscribe(list(topics), listener=_Listener(on_assigned, on_revoked))

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        self._consumer.assign([_tp(tp) for tp in partitions])

    async def seek_to_beginning(self, partitions: Iterable[TopicPartition]) -> None:
        await self._consumer.seek_to_beginning(*[_tp(tp) for tp in partitions])

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self._consumer.seek(_tp(tp), offset)

    async def position(self, tp: TopicPartition) -> int:
        return int(await self._consumer.position(_tp(tp)))

    async def committed(self, tp: TopicPartition) -> int | None:
        value = await self._consumer.committed(_tp(tp))
        return None if value is None else int(value)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        await self._consumer.commit({_tp(tp): off for tp, off in offsets.items()})

    async def seek_to_committed(self, partitions: set[TopicPartition]) -> None:
        """Back to the group's committed offset, or the log start when there is none.

        Explicit seeks only: a lazy seek_to_beginning could hand out buffered records first.
        """
        starts = await self.beginning_offsets(partitions)
        for tp in partitions:
            committed = await self.committed(tp)
            self.seek(tp, starts[tp] if committed is None else committed)

    async def end_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        raw = await self._consumer.end_offsets([_tp(tp) for tp in partitions])
        return {_ours(tp): int(off) for tp, off in raw.items()}

    async def beginning_offsets(
        self, partitions: Iterable[TopicPartition]
    ) -> dict[TopicPartition, int]:
        raw = await self._consumer.beginning_offsets([_tp(tp) for tp in partitions])
        return {_ours(tp): int(off) for tp, off in raw.items()}

    async def offsets_for_times(
        self, timestamps: dict[TopicPartition, int]
    ) -> dict[TopicPartition, int | None]:
        raw = await self._consumer.offsets_for_times({_tp(tp): ts for tp, ts in timestamps.items()})
        return {_ours(tp): (None if v is None else int(v.offset)) for tp, v in raw.items()}

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        self._consumer.pause(*[_tp(tp) for tp in partitions])

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        self._consumer.resume(*[_tp(tp) for tp in partitions])

    def assignment(self) -> set[TopicPartition]:
        return {_ours(tp) for tp in self._consumer.assignment()}

    async def reachable(self, timeout_s: float = 2.0) -> bool:
        """Whether a broker answers a metadata request within `timeout_s`."""
        try:
            return bool(
                await asyncio.wait_for(self._consumer._client.force_metadata_update(), timeout_s)
            )
        except (KafkaError, TimeoutError, OSError):
            return False

    def generation(self) -> int:
        """The group generation this member last joined (-1 while it is not a member).

        A new generation is the only way a partition changes owner, so a transaction fenced
        while the generation stayed the same was not fenced by the partition's new owner.
        """
        coordinator = getattr(self._consumer, "_coordinator", None)
        return int(getattr(coordinator, "generation", -1))

    async def partitions_for(self, topic: str) -> set[int]:
        parts = self._consumer.partitions_for_topic(topic)
        if parts is None:
            await self._consumer._client.force_metadata_update()
            parts = self._consumer.partitions_for_topic(topic)
        return set(parts or ())

    async def leaders(self, topics: Iterable[str]) -> dict[TopicPartition, int]:
        """The broker id leading each partition of `topics` (fresh metadata; -1: none)."""
        topics = list(topics)
        for topic in topics:
            self._consumer._client.add_topic(topic)
        await self._consumer._client.force_metadata_update()
        cluster = self._consumer._client.cluster
        out: dict[TopicPartition, int] = {}
        for topic in topics:
            for p in cluster.partitions_for_topic(topic) or ():
                leader = cluster.leader_for_partition(_TP(topic, p))
                out[TopicPartition(topic, p)] = -1 if leader is None else int(leader)
        return out

    async def poll(self, timeout_ms: int = 200) -> list[InRecord]:
        """Up to `max_records` records from any assigned partitions, in offset order per partition."""
        return [_in(m) for msgs in await self.fetch(timeout_ms) for m in msgs]

    async def fetch(self, timeout_ms: int = 200) -> list[list[Any]]:
        """As `poll`, as the client's own messages per partition (for this module's readers)."""
        batch = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=self._max_records)
        return list(batch.values())


def _append(batch: Any, record: OutRecord) -> Any:
    """Add `record` to an aiokafka batch; its metadata (offset within the batch), or None
    when the batch is full."""
    return batch.append(
        key=record.key, value=record.value, timestamp=None, headers=list(record.headers)
    )


# The keys in use at a time: a saga's records are written within seconds of each other, so
# 4,096 recent keys hit almost always. The bound is memory: every key ever seen (~250 B each)
# would otherwise stay, and a soak read its ~16 MB of filling up as a leak.
KEY_HASH_CACHE = 4_096


@lru_cache(maxsize=KEY_HASH_CACHE)
def _key_hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


class _CachedPartitioner(DefaultPartitioner):
    """The Java client's key partitioning (murmur2), with the hash cached per key.

    A saga's records all carry its key and murmur2 runs in pure Python: caching the hash takes
    partitioning off the hot path without changing where any record lands.
    """

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        if key is None:
            return int(super().__call__(key, all_partitions, available))
        return all_partitions[_key_hash(key) % len(all_partitions)]


# A task's commit holds tens of ~1-2 KB saga states for its one changelog partition. In
# aiokafka's default 16 KB batches that is several batches, and each waits for the one before
# to be sent: 3.4 produce round trips per transaction, measured. At 512 KiB (below the
# broker's 1 MiB message.max.bytes) a commit is one produce request.
WRITE_BATCH_BYTES = 512 * 1024


class Producer:
    """An idempotent (acks=all) producer for at-least-once paths."""

    def __init__(self, options: dict[str, Any], *, client_id: str = "q2c", **extra: Any) -> None:
        self._producer = AIOKafkaProducer(
            **options,
            client_id=client_id,
            enable_idempotence=True,
            acks="all",
            partitioner=_CachedPartitioner(),
            linger_ms=extra.pop("linger_ms", 5),
            max_batch_size=extra.pop("max_batch_size", WRITE_BATCH_BYTES),
            **extra,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()
        txn = getattr(self._producer, "_txn_manager", None)
        waiter = getattr(txn, "_transaction_waiter", None)
        if isinstance(waiter, asyncio.Future) and waiter.done() and not waiter.cancelled():
            # A dead producer's last transaction failure was already handled by the caller;
            # retrieve it so asyncio does not report it as never retrieved.
            waiter.exception()

    async def reachable(self, timeout_s: float = 2.0) -> bool:
        """Whether a broker answers a metadata request within `timeout_s` (a started
        producer keeps saying it is connected while every broker is gone)."""
        try:
            return bool(
                await asyncio.wait_for(self._producer.client.force_metadata_update(), timeout_s)
            )
        except (KafkaError, TimeoutError, OSError):
            return False

    async def send(self, record: OutRecord) -> asyncio.Future[Any]:
        """Queue a record; the returned future resolves when the broker acknowledged it."""
        fut: asyncio.Future[Any] = await self._producer.send(
            record.topic,
            value=record.value,
            key=record.key,
            partition=record.partition,
            headers=list(record.headers),
        )
        return fut

    async def send_and_wait(self, record: OutRecord) -> Delivered:
        """Send one record and wait for the broker's acknowledgement."""
        meta = await (await self.send(record))
        return Delivered(meta.topic, meta.partition, meta.offset)

    async def _send_batch(self, batch: Any, topic: str, partition: int) -> asyncio.Future[Any]:
        # Closed, the batch is ready at once: aiokafka's accumulator holds an open one for
        # linger_ms in case more records come, and these are all there will be (every commit
        # waited the linger, twice when a partition needed a second batch).
        batch.close()
        future: asyncio.Future[Any] = await self._producer.send_batch(
            batch, topic, partition=partition
        )
        return future

    async def send_all(self, records: Iterable[OutRecord]) -> list[Delivered]:
        """Send and wait for every acknowledgement (raises the first failure); returns where
        each record landed, in order.

        The records are grouped by partition and handed to the client as whole batches
        (aiokafka's `create_batch`/`send_batch`): one call per batch instead of one coroutine
        per record, which was the largest single cost of a worker's commit. Order within a
        partition is the order given; a batch that fills up is sent and the next one started.
        """
        out = list(records)
        groups: dict[tuple[str, int], list[int]] = {}
        for i, record in enumerate(out):
            partition = record.partition
            if partition is None:
                partition = await self._partition_of(record)
            groups.setdefault((record.topic, partition), []).append(i)
        sent: list[tuple[asyncio.Future[Any], str, int, list[tuple[int, int]]]] = []
        try:
            for (topic, partition), members in groups.items():
                batch = self._producer.create_batch()
                placed: list[tuple[int, int]] = []  # (index in `out`, offset within the batch)
                for i in members:
                    record = out[i]
                    meta = _append(batch, record)
                    if meta is None:  # full: send it, and start the next one
                        future = await self._send_batch(batch, topic, partition)
                        sent.append((future, topic, partition, placed))
                        batch = self._producer.create_batch()
                        placed = []
                        meta = _append(batch, record)  # an empty batch takes any one record
                    placed.append((i, meta.offset))
                future = await self._send_batch(batch, topic, partition)
                sent.append((future, topic, partition, placed))
        finally:
            # Wait for every queued batch: a failure left unawaited is logged as never
            # retrieved, and the caller must know all outcomes before it rolls back.
            results = await asyncio.gather(*(s[0] for s in sent), return_exceptions=True)
        delivered: list[Delivered | None] = [None] * len(out)
        for result, (_, topic, partition, placed) in zip(results, sent, strict=True):
            if isinstance(result, BaseException):
                raise result
            for i, relative in placed:
                delivered[i] = Delivered(topic, partition, result.offset + relative)
        return [d for d in delivered if d is not None]

    async def _partition_of(self, record: OutRecord) -> int:
        """The partition aiokafka's `send` would choose for a record without one (the key's
        murmur2 hash, through this producer's partitioner)."""
        await self._producer.client._wait_on_metadata(record.topic)
        return int(
            self._producer._partition(
                record.topic, None, record.key, record.value, record.key, record.value
            )
        )

    async def flush(self) -> None:
        await self._producer.flush()

    @property
    def broken(self) -> bool:
        """True when the producer can never send again: its sender died (fenced, out of order
        sequence, ...) or its transaction state is fatal. Only a new producer helps then."""
        sender = getattr(self._producer, "_sender", None)
        task = getattr(sender, "sender_task", None)
        if task is not None and task.done():
            return True
        txn = getattr(self._producer, "_txn_manager", None)
        return bool(txn is not None and txn.is_fatal_error())


class TransactionalProducer(Producer):
    """A producer with a transactional id: records and input offsets commit atomically.

    Starting it bumps the epoch for its transactional id, which fences any older producer
    (a zombie worker) using the same id and aborts that producer's open transaction.
    """

    def __init__(
        self,
        options: dict[str, Any],
        transactional_id: str,
        *,
        transaction_timeout_ms: int = 120_000,
        **extra: Any,
    ) -> None:
        """`transaction_timeout_ms`: how long the broker lets a transaction stay open before it
        aborts it and bumps the epoch (the next commit then fails with ProducerFenced)."""
        super().__init__(
            options,
            transactional_id=transactional_id,
            transaction_timeout_ms=transaction_timeout_ms,
            **extra,
        )
        self.transactional_id = transactional_id

    async def begin(self) -> None:
        await self._producer.begin_transaction()

    async def commit(self, offsets: dict[TopicPartition, int] | None, group_id: str) -> None:
        if offsets:
            await self._producer.send_offsets_to_transaction(
                {_tp(tp): off for tp, off in offsets.items()}, group_id
            )
        await self._producer.commit_transaction()

    async def abort(self) -> None:
        await self._producer.abort_transaction()


async def topic_partitions(options: dict[str, Any], topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of `topics`, topic by topic in partition order (a short-lived probe)."""
    probe = Consumer(options, group_id=None)
    await probe.start()
    try:
        return [TopicPartition(t, p) for t in topics for p in sorted(await probe.partitions_for(t))]
    finally:
        await probe.stop()


async def end_offsets(
    options: dict[str, Any], partitions: Iterable[TopicPartition]
) -> dict[TopicPartition, int]:
    """End offsets (read_committed: the last stable offset) of the given partitions."""
    consumer = Consumer(options, group_id=None)
    await consumer.start()
    try:
        return await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()


async def read_partition(
    options: dict[str, Any],
    partitions: Sequence[TopicPartition],
    on_record: Callable[[InRecord], None],
    *,
    idle_timeout_s: float = 30.0,
    starts: Mapping[TopicPartition, int] | None = None,
) -> int:
    """Read the given partitions from the beginning (or from `starts`, where given) up to
    their current end; returns the count.

    Used to look past a dead letter and to read global tables. Bounded: gives up (raises
    TimeoutError) when no progress is made for `idle_timeout_s`.
    """

    def each(messages: list[Any]) -> None:
        for m in messages:
            on_record(_in(m))

    return await _read_to_end(options, partitions, each, idle_timeout_s, starts or {})


@dataclass
class LatestRead:
    """Each key's last value over a read (None: a tombstone), the records read, and when the
    first of them arrived (`time.perf_counter`; None: there were none)."""

    values: dict[bytes, bytes | None] = field(default_factory=dict)
    records: int = 0
    first_record_at: float | None = None


async def read_latest(
    options: dict[str, Any], partitions: Sequence[TopicPartition], *, idle_timeout_s: float = 30.0
) -> LatestRead:
    """Read the partitions from the beginning to their current end keeping only each key's last
    value: what restoring a store from its changelog needs.

    No record object is made per record (a changelog holds several values per key until
    compaction runs), which is most of a restore's cost on top of the client's own.
    """
    read = LatestRead()
    values = read.values

    def keep(messages: list[Any]) -> None:
        if read.first_record_at is None:
            read.first_record_at = time.perf_counter()
        for m in messages:
            values[m.key or b""] = m.value

    read.records = await _read_to_end(options, partitions, keep, idle_timeout_s, {})
    return read


async def _read_to_end(
    options: dict[str, Any],
    partitions: Sequence[TopicPartition],
    on_batch: Callable[[list[Any]], None],
    idle_timeout_s: float,
    starts: Mapping[TopicPartition, int],
) -> int:
    """Hand every fetched batch of aiokafka messages (one partition's, in offset order) to
    `on_batch` until the partitions' ends as of the start; returns the count."""
    consumer = Consumer(
        options,
        group_id=None,
        max_records=READ_MAX_RECORDS,
        partition_fetch_bytes=READ_FETCH_BYTES,
    )
    await consumer.start()
    count = 0
    try:
        consumer.assign(partitions)
        from_start = [tp for tp in partitions if tp not in starts]
        if from_start:
            await consumer.seek_to_beginning(from_start)
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp, end in ends.items() if end > starts.get(tp, 0)}
        loop = asyncio.get_running_loop()
        last_progress = loop.time()
        while remaining:
            batches = await consumer.fetch(timeout_ms=200)
            for messages in batches:
                on_batch(messages)
                count += len(messages)
            if batches:
                last_progress = loop.time()
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
            if loop.time() - last_progress > idle_timeout_s:
                raise TimeoutError(f"restore made no progress for {idle_timeout_s}s on {remaining}")
        return count
    finally:
        await consumer.stop()
