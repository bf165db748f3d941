"""`Producer.send_all` hands records to the client in whole batches: every record lands where
its `Delivered` says, in the order given per partition, keyed ones on the key's partition, and
inside a transaction all of them commit or abort together."""

from __future__ import annotations

import asyncio

import pytest

from engine.kafka.client import (
    Consumer,
    Producer,
    TransactionalProducer,
    _key_hash,
    read_latest,
    read_partition,
)
from engine.kafka.records import InRecord, OutRecord, TopicPartition
from tests.conftest import MakeTopic

pytestmark = pytest.mark.kafka
PARTITIONS = 3
# aiokafka's default batch size, not the engine's: these records then need a dozen batches,
# which is how a batch that fills up (and the next one's start) is exercised.
SMALL_BATCH = 16 * 1024


async def read_all(bootstrap: str, topic: str) -> dict[tuple[int, int], InRecord]:
    got: dict[tuple[int, int], InRecord] = {}
    parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    await read_partition(
        {"bootstrap_servers": bootstrap}, parts, lambda r: got.update({(r.partition, r.offset): r})
    )
    return got


def records(topic: str) -> list[OutRecord]:
    # 1 KB values: partition 0's 200 records fill a dozen 16 KB batches.
    pinned = [
        OutRecord(topic, None, f"p{i:04d}".encode() * 200, (("n", str(i).encode()),), 0)
        for i in range(200)
    ]
    keyed = [OutRecord(topic, f"deal-{i % 17}".encode(), f"k{i}".encode()) for i in range(100)]
    return [r for pair in zip(pinned[:100], keyed, strict=True) for r in pair] + pinned[100:]


# A linger no commit could afford: a batch left open would wait all of it for more records.
LONG_LINGER_MS = 60_000


async def test_a_commit_does_not_wait_for_the_producer_linger(
    kafka_bootstrap: str, make_topic: MakeTopic
) -> None:
    topic = await make_topic("send-all-linger", partitions=PARTITIONS)
    producer = Producer({"bootstrap_servers": kafka_bootstrap}, linger_ms=LONG_LINGER_MS)
    await producer.start()
    try:
        # A bound on waiting, not a speed measurement: a lingering send takes a minute.
        delivered = await asyncio.wait_for(producer.send_all(records(topic)), 20)
    finally:
        await producer.stop()
    assert len(delivered) == len(records(topic))


async def test_each_record_lands_where_its_delivery_says(
    kafka_bootstrap: str, make_topic: MakeTopic
) -> None:
    topic = await make_topic("send-all", partitions=PARTITIONS)
    sent = records(topic)
    producer = Producer({"bootstrap_servers": kafka_bootstrap}, max_batch_size=SMALL_BATCH)
    await producer.start()
    try:
        delivered = await producer.send_all(sent)
    finally:
        await producer.stop()
    assert len(delivered) == len(sent)
    stored = await read_all(kafka_bootstrap, topic)
    assert len(stored) == len(sent)
    for record, where in zip(sent, delivered, strict=True):
        got = stored[(where.partition, where.offset)]
        assert (got.key, got.value, got.headers) == (record.key, record.value, record.headers)
        if record.key is not None:
            assert where.partition == _key_hash(record.key) % PARTITIONS
    pinned = [d.offset for r, d in zip(sent, delivered, strict=True) if r.partition == 0]
    assert pinned == sorted(pinned) and len(set(pinned)) == 200


async def test_in_a_transaction_the_batches_commit_or_abort_together(
    kafka_bootstrap: str, make_topic: MakeTopic, unique: str
) -> None:
    topic = await make_topic("send-all-txn", partitions=PARTITIONS)
    producer = TransactionalProducer(
        {"bootstrap_servers": kafka_bootstrap}, f"tx-{unique}", max_batch_size=SMALL_BATCH
    )
    await producer.start()
    try:
        await producer.begin()
        await producer.send_all(records(topic))
        await producer.abort()
        await producer.begin()
        kept = await producer.send_all(records(topic)[:60])
        await producer.commit(None, "")
    finally:
        await producer.stop()
    committed = await read_all(kafka_bootstrap, topic)  # read_committed
    assert sorted(committed) == sorted((d.partition, d.offset) for d in kept)
    consumer = Consumer({"bootstrap_servers": kafka_bootstrap}, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
    finally:
        await consumer.stop()
    assert sum(ends.values()) > len(committed)  # the aborted records are there, unread


async def test_read_latest_keeps_each_keys_last_committed_value(
    kafka_bootstrap: str, make_topic: MakeTopic, unique: str
) -> None:
    """What a store restores from: the last committed value per key, tombstones kept as None,
    an aborted transaction's values never seen."""
    topic = await make_topic("latest", partitions=PARTITIONS)
    versions = [OutRecord(topic, f"saga-{i % 7}".encode(), f"v{i}".encode()) for i in range(70)]
    producer = TransactionalProducer(
        {"bootstrap_servers": kafka_bootstrap}, f"tx-{unique}", max_batch_size=SMALL_BATCH
    )
    await producer.start()
    try:
        await producer.begin()
        await producer.send_all(versions)
        await producer.send_all([OutRecord(topic, b"saga-3", None)])
        await producer.commit(None, "")
        await producer.begin()
        await producer.send_all([OutRecord(topic, b"saga-1", b"aborted")])
        await producer.abort()
    finally:
        await producer.stop()
    parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    latest = await read_latest({"bootstrap_servers": kafka_bootstrap}, parts)
    expected: dict[bytes, bytes | None] = {
        f"saga-{i}".encode(): f"v{63 + i}".encode() for i in range(7)
    }
    expected[b"saga-3"] = None
    assert latest.values == expected
    assert latest.records == 71
    assert latest.first_record_at is not None
