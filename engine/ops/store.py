"""Reads and writes the ops topics (I/O): audit trail and replay progress / purge markers."""

from __future__ import annotations

from typing import Any

from engine.kafka.client import Producer, read_partition, topic_partitions
from engine.kafka.records import InRecord, OutRecord
from engine.ops.audit import AuditRecord
from engine.ops.progress import OpsState
from engine.topics import name


def audit_topic(prefix: str) -> str:
    return name(prefix, "q2c.ops.audit")


def progress_topic(prefix: str) -> str:
    return name(prefix, "q2c.ops.replay-progress")


async def _read_all(options: dict[str, Any], topic: str) -> list[InRecord]:
    parts = await topic_partitions(options, [topic])
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


def audit_out(prefix: str, record: AuditRecord) -> OutRecord:
    """The record to send to the audit topic."""
    return OutRecord(
        audit_topic(prefix),
        record.key,
        record.to_bytes(),
        (("content-type", b"application/json"),),
    )


async def write_audit(
    options: dict[str, Any], prefix: str, record: AuditRecord, *, producer: Producer | None = None
) -> None:
    """Append `record` to the audit trail, on `producer` when given (else a short-lived one)."""
    if producer is not None:
        await producer.send_and_wait(audit_out(prefix, record))
        return
    own = Producer(options, client_id="q2c-ops")
    await own.start()
    try:
        await own.send_and_wait(audit_out(prefix, record))
    finally:
        await own.stop()
