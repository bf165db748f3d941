"""The fixture's broker is a real Kafka: plain, idempotent and transactional produce/consume."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.conftest import MakeTopic

pytestmark = pytest.mark.kafka


async def _drain(bootstrap: str, topic: str, *, isolation: str, expect: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"g-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        isolation_level=isolation,
        enable_auto_commit=False,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        for _ in range(20):  # bounded: at most 20 polls of 500 ms
            batch = await consumer.getmany(timeout_ms=500)
            values += [m.value for msgs in batch.values() for m in msgs if m.value is not None]
            if len(values) >= expect:
                # one more poll to catch anything beyond what was expected
                extra = await consumer.getmany(timeout_ms=300)
                values += [m.value for msgs in extra.values() for m in msgs if m.value]
                break
    finally:
        await consumer.stop()
    return values


async def test_produce_and_consume(kafka_bootstrap: str, make_topic: MakeTopic) -> None:
    topic = await make_topic("plain", partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(30):
            await producer.send_and_wait(topic, f"v{i}".encode(), key=f"k{i % 5}".encode())
    finally:
        await producer.stop()
    got = await _drain(kafka_bootstrap, topic, isolation="read_uncommitted", expect=30)
    assert sorted(got) == sorted(f"v{i}".encode() for i in range(30))


async def test_idempotent_producer_writes_each_record_once(
    kafka_bootstrap: str, make_topic: MakeTopic
) -> None:
    topic = await make_topic("idem")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        batch = [producer.send(topic, f"e{i}".encode()) for i in range(50)]
        for fut in batch:
            await (await fut)
    finally:
        await producer.stop()
    got = await _drain(kafka_bootstrap, topic, isolation="read_uncommitted", expect=50)
    assert got == [f"e{i}".encode() for i in range(50)]  # one partition: order kept, no dupes


async def test_read_committed_sees_only_committed_transactions(
    kafka_bootstrap: str, make_topic: MakeTopic
) -> None:
    topic = await make_topic("txn")
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, transactional_id=f"tx-{uuid.uuid4().hex[:8]}"
    )
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send_and_wait(topic, b"committed-1")
            await producer.send_and_wait(topic, b"committed-2")
        await producer.begin_transaction()
        await producer.send_and_wait(topic, b"aborted")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send_and_wait(topic, b"committed-3")
    finally:
        await producer.stop()
    committed = await _drain(kafka_bootstrap, topic, isolation="read_committed", expect=3)
    assert committed == [b"committed-1", b"committed-2", b"committed-3"]
    everything = await _drain(kafka_bootstrap, topic, isolation="read_uncommitted", expect=4)
    assert b"aborted" in everything
