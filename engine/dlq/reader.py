"""Reads dead-letter topics (I/O): every record, or one by reference; and what superseded one."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.dlq.records import DeadLetter, parse_ref
from engine.dlq.supersession import SuccessorIndex, Superseded, scan_starts
from engine.kafka.client import Consumer, read_partition, topic_partitions
from engine.kafka.records import InRecord, TopicPartition
from engine.topics import load_catalog, name


def dlq_topics(prefix: str) -> list[str]:
    """Every dead-letter topic of the catalog, with the deployment prefix."""
    return [name(prefix, t) for t in load_catalog().names if t.endswith(".dlq")]


async def read_dead_letters(options: dict[str, Any], topics: list[str]) -> list[DeadLetter]:
    """Every record currently in `topics` (read_committed), as DeadLetters."""
    parts = await topic_partitions(options, topics)
    out: list[DeadLetter] = []

    def keep(rec: InRecord) -> None:
        out.append(DeadLetter.from_record(rec))

    if parts:
        await read_partition(options, parts, keep)
    return out


async def read_one(
    options: dict[str, Any], ref: str, *, timeout_s: float = 15.0
) -> DeadLetter | None:
    """The record at `<topic>:<partition>:<offset>`, or None when there is none (bounded wait)."""
    topic, partition, offset = parse_ref(ref)
    tp = TopicPartition(topic, partition)
    consumer = Consumer(options, group_id=None, max_records=1)
    await consumer.start()
    try:
        if partition not in await consumer.partitions_for(topic):
            return None
        ends = await consumer.end_offsets([tp])
        if offset >= ends[tp]:
            return None
        consumer.assign([tp])
        consumer.seek(tp, offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            for rec in await consumer.poll(timeout_ms=200):
                if rec.offset == offset:
                    return DeadLetter.from_record(rec)
                if rec.offset > offset:  # compacted away or an aborted transaction's slot
                    return None
            if await consumer.position(tp) >= ends[tp]:
                return None
        return None
    finally:
        await consumer.stop()


async def find_superseded(options: dict[str, Any], letters: list[DeadLetter]) -> list[Superseded]:
    """The dead letters among `letters` that a later command on their original partition
    superseded (see `engine.dlq.supersession`); reads each such partition from just after its
    earliest one to its end."""
    starts = scan_starts(letters)
    if not starts:
        return []
    existing = set(await topic_partitions(options, sorted({tp.topic for tp in starts})))
    starts = {tp: offset for tp, offset in starts.items() if tp in existing}
    index = SuccessorIndex(letters)
    if starts:
        await read_partition(options, list(starts), index.add, starts=starts)
    return index.superseded()
