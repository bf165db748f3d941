"""A rewind moves the tasks' changelog input offsets with the group (pure part)."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.kafka.records import TopicPartition
from engine.runtime.rewind import RewindPlan, input_offset_records
from engine.runtime.store import INPUT_OFFSETS_KEY, SagaStore, decode_input_offsets


def test_each_task_gets_its_partitions_offsets_and_a_restore_starts_there() -> None:
    offsets = {
        TopicPartition("p.q2c.crm.events", 0): 5,
        TopicPartition("p.q2c.crm.events", 1): 0,
        TopicPartition("p.q2c.saga.inbox", 0): 7,
        TopicPartition("p.q2c.saga.inbox", 1): 2,
    }
    plan = RewindPlan("g", datetime(2026, 1, 1, tzinfo=UTC), offsets, "p.q2c.saga.state")
    records = input_offset_records(plan)
    assert [(r.topic, r.partition, r.key) for r in records] == [
        ("p.q2c.saga.state", 0, INPUT_OFFSETS_KEY),
        ("p.q2c.saga.state", 1, INPUT_OFFSETS_KEY),
    ]
    for record in records:
        store = SagaStore()  # what a worker's restore of that changelog partition reads last
        store.restore(INPUT_OFFSETS_KEY, record.value)
        mine = {tp: o for tp, o in offsets.items() if tp.partition == record.partition}
        assert store.input_offsets == mine == decode_input_offsets(record.value or b"")
