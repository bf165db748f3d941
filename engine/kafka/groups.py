"""Consumer-group administration: is a group idle, and moving its offsets (for replays)."""

from __future__ import annotations

from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from engine.kafka.client import Consumer
from engine.kafka.records import TopicPartition


class GroupBusyError(RuntimeError):
    """The group still has members: its offsets cannot be moved under running workers."""


async def group_members(options: dict[str, Any], group_id: str) -> int:
    """How many members the group has right now (0 when it is empty or unknown)."""
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        described = await admin.describe_consumer_groups([group_id])
        groups = described[0].to_object()["groups"] if described else []
        return sum(len(g["members"]) for g in groups)
    finally:
        await admin.close()


async def offsets_at(
    options: dict[str, Any], topics: list[str], timestamp_ms: int
) -> dict[TopicPartition, int]:
    """For each partition of `topics`, the first offset at or after `timestamp_ms` (else the end)."""
    consumer = Consumer(options, group_id=None)
    await consumer.start()
    try:
        parts = [
            TopicPartition(t, p) for t in topics for p in sorted(await consumer.partitions_for(t))
        ]
        found = await consumer.offsets_for_times(dict.fromkeys(parts, timestamp_ms))
        ends = await consumer.end_offsets(parts)
        return {tp: (found.get(tp) if found.get(tp) is not None else ends[tp]) for tp in parts}  # type: ignore[misc]
    finally:
        await consumer.stop()


async def reset_group_offsets(
    options: dict[str, Any], group_id: str, offsets: dict[TopicPartition, int]
) -> None:
    """Commit `offsets` for an idle group; refuses while the group has members."""
    if await group_members(options, group_id):
        raise GroupBusyError(f"group {group_id!r} has active members: stop the workers first")
    consumer = Consumer(options, group_id=group_id)
    await consumer.start()
    try:
        consumer.assign(offsets)
        await consumer.commit(offsets)
    finally:
        await consumer.stop()
