"""Baseline (a): consume-then-produce with aiokafka and no decoding at all.

The ceiling for a Python Kafka client on this machine: the same input topics and partitions, a
read_committed group consumer, and either a plain idempotent producer (offsets committed after
the batch is acknowledged) or one transactional producer (records and offsets in one
transaction per batch). It talks to aiokafka directly on purpose: the engine's facade is part
of what the engine is measured with, the ceiling must not include it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor

MAX_RECORDS = 500  # the engine's default max_batch, so both move the same batch sizes


async def run_raw_pipe(
    options: dict[str, Any],
    inputs: list[str],
    output: str,
    group_id: str,
    *,
    transactional: bool,
    stop: asyncio.Event,
    fanout: float = 1.0,
) -> None:
    """Copy every input record to `output` (same key, value, headers) until `stop` is set;
    `fanout` copies of each on average (the engine's records per event, see
    engine.bench.fanout)."""
    consumer = AIOKafkaConsumer(
        *inputs,
        **options,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        partition_assignment_strategy=(RangePartitionAssignor,),
    )
    extra: dict[str, Any] = {"transactional_id": f"{group_id}.raw"} if transactional else {}
    producer = AIOKafkaProducer(
        **options, enable_idempotence=True, acks="all", linger_ms=2, **extra
    )
    copies = Copies(fanout)
    await producer.start()
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100, max_records=MAX_RECORDS)
            if not batch:
                continue
            offsets = {tp: msgs[-1].offset + 1 for tp, msgs in batch.items()}
            if transactional:
                async with producer.transaction():
                    await _send_batch(producer, output, batch, copies)
                    await producer.send_offsets_to_transaction(offsets, group_id)
            else:
                await _send_batch(producer, output, batch, copies)
                await consumer.commit(offsets)
    finally:
        await consumer.stop()
        await producer.stop()


class Copies:
    """How many copies of each next record make `fanout` per record on average (1.5: 1, 2, 1,
    2, ...), so a fractional fan-out is written exactly over any run length."""

    def __init__(self, fanout: float) -> None:
        if fanout < 1.0:
            raise ValueError(f"fanout must be at least 1, got {fanout}")
        self.fanout = fanout
        self.seen = 0

    def next(self) -> int:
        before = int(self.seen * self.fanout)
        self.seen += 1
        return int(self.seen * self.fanout) - before


async def _send_batch(
    producer: AIOKafkaProducer,
    output: str,
    batch: dict[TopicPartition, list[Any]],
    copies: Copies,
) -> None:
    futures = [
        await producer.send(output, m.value, key=m.key, headers=list(m.headers or ()))
        for msgs in batch.values()
        for m in msgs
        for _ in range(copies.next())
    ]
    await asyncio.gather(*futures)
