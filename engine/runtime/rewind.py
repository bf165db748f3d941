"""Rewinding the inbound streams to a point in time, and verifying saga state.

A rewind moves the worker group's offsets on every input topic back to a timestamp. The next
workers re-read from there; every saga keeps the ids of the events it applied, so an event that
was already applied is a no-op (no state change, no command), and only events that were never
applied (skipped, or dead-lettered and since fixed) take effect. Commands that a re-applied
event causes carry the same deterministic idempotency key and command id as before.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.kafka.client import Producer
from engine.kafka.groups import offsets_at, reset_group_offsets
from engine.kafka.records import OutRecord, TopicPartition
from engine.runtime.inspect import read_all_states
from engine.runtime.names import TopicNames
from engine.runtime.store import INPUT_OFFSETS_KEY, encode_input_offsets


@dataclass(frozen=True)
class RewindPlan:
    group_id: str
    since: datetime
    offsets: dict[TopicPartition, int]
    state_topic: str  # the saga-state changelog, which holds each task's input offsets


async def plan_rewind(
    options: dict[str, Any], names: TopicNames, group_id: str, since: datetime
) -> RewindPlan:
    """The offsets a rewind to `since` would commit for the group (nothing is changed)."""
    topics = [*names.inbound, names.inbox]
    offsets = await offsets_at(options, topics, int(since.timestamp() * 1000))
    return RewindPlan(group_id, since, offsets, names.state)


def input_offset_records(plan: RewindPlan) -> list[OutRecord]:
    """One input-offsets record per changelog partition, at the plan's offsets.

    An exactly-once worker starts each task where its changelog says, not where the group's
    committed offsets do (those may lag a commit), so a rewind that moved only the group would
    be undone by the next worker's restore.
    """
    by_task: dict[int, dict[TopicPartition, int]] = {}
    for tp, offset in plan.offsets.items():
        by_task.setdefault(tp.partition, {})[tp] = offset
    return [
        OutRecord(plan.state_topic, INPUT_OFFSETS_KEY, encode_input_offsets(offsets), partition=p)
        for p, offsets in sorted(by_task.items())
    ]


async def apply_rewind(options: dict[str, Any], plan: RewindPlan) -> None:
    """Move the (idle) group and the tasks' changelog input offsets to the plan's offsets."""
    await reset_group_offsets(options, plan.group_id, plan.offsets)  # refuses a busy group
    producer = Producer(options)
    await producer.start()
    try:
        for record in input_offset_records(plan):
            await producer.send_and_wait(record)
    finally:
        await producer.stop()


@dataclass
class StateReport:
    """What `q2c state rebuild` found in the changelog."""

    sagas: int = 0
    by_state: Counter[tuple[str, str]] = field(default_factory=Counter)
    parked: int = 0
    timers: int = 0


async def verify_state(options: dict[str, Any], names: TopicNames) -> StateReport:
    """Restore every saga from the changelog exactly as a worker does, and summarise it.

    A record that does not decode raises, naming the topic, partition and offset.
    """
    states = await read_all_states(options, names.state)
    report = StateReport(sagas=len(states))
    for (saga_type, _key), state in states.items():
        report.by_state[(saga_type, state.state)] += 1
        report.parked += len(state.parked)
        report.timers += len(state.timers)
    return report
