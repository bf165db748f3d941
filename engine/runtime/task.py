"""A task: one partition number of the co-partitioned input topics, its store and its producer."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.kafka.client import Producer
from engine.kafka.records import InRecord, TopicPartition
from engine.runtime.store import SagaStore


@dataclass
class Task:
    """Everything one worker owns for partition `partition`.

    In exactly-once mode `producer` is transactional with id `<group>.task.<partition>`, so a
    new owner's start fences a zombie owner of the same partition.
    """

    partition: int
    producer: Producer
    store: SagaStore = field(default_factory=SagaStore)
    # Records waiting for a correlation (source id -> saga key) to become known, by input tp.
    waiting: dict[TopicPartition, list[InRecord]] = field(default_factory=dict)
    # Correlation-table version last tried for the waiting records (retry only after changes).
    correlation_seen: int = -1

    def hold_offset(self, tp: TopicPartition) -> int | None:
        """The lowest offset still waiting on `tp` (the commit must not pass it)."""
        held = self.waiting.get(tp)
        return held[0].offset if held else None

    def waiting_count(self) -> int:
        return sum(len(v) for v in self.waiting.values())
