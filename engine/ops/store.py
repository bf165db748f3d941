"""Reads and writes the ops topics (I/O): audit trail and replay progress / purge markers."""

from __future__ import annotations

from typing import Any

from engine.kafka.client import Consumer, Producer, read_partition
from engine.kafka.records import InRecord, OutRecord, TopicPartition
from engine.ops.audit import AuditRecord
from engine.ops.progress import OpsState
from engine.topics import name


def audit_topic(prefix: str) -> str:
    return name(prefix, "q2c.ops.audit")


def progress_topic(prefix: str) -> str:
    return name(prefix, "q2c.ops.replay-progress")


async def _read_all(options: dict[str, Any], topic: str) -> list[InRecord]:
    probe = Consumer(options, group_id=None)
    await probe.start()
    try:
        parts = [TopicPartition(topic, p) for p in sorted(await probe.partitions_for(topic))]
    finally:
        await probe.stop()
    out: list[InRecord] = []
    if parts:
        await read_partition(options, parts, out.append)
    return out


async def read_ops_state(options: dict[str, Any], prefix: str) -> OpsState:
    """Every replay checkpoint and purge marker, folded in topic order."""
    state = OpsState()
    for rec in await _read_all(options, progress_topic(prefix)):
        state.apply(rec.key, rec.value)
    return state


async def read_audit(options: dict[str, Any], prefix: str) -> list[AuditRecord]:
    """The whole audit trail, partition by partition (sort by `at` for a timeline)."""
    return [
        AuditRecord.from_bytes(rec.value)
        for rec in await _read_all(options, audit_topic(prefix))
        if rec.value is not None
    ]


async def write_audit(options: dict[str, Any], prefix: str, record: AuditRecord) -> None:
    producer = Producer(options, client_id="q2c-ops")
    await producer.start()
    try:
        await producer.send_and_wait(OutRecord(audit_topic(prefix), record.key, record.to_bytes()))
    finally:
        await producer.stop()
