"""Records waiting for their saga key to become known (pure bookkeeping, no I/O).

A record whose business key is not yet in the correlation index waits here. Later records of
the same input partition with the same record key queue behind it (their relative order is the
order of their saga's events); records with other keys go ahead. The input offset may not be
committed past the lowest waiting offset, so a crash re-reads the waiting records, and the
records after them are deduplicated by the sagas' event-id sets.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.kafka.records import InRecord, TopicPartition


@dataclass(frozen=True, slots=True)
class Parked:
    record: InRecord
    since: float  # monotonic seconds when it first had to wait


class WaitRoom:
    """Waiting records by input partition, in offset order."""

    def __init__(self) -> None:
        self._by_tp: dict[TopicPartition, list[Parked]] = {}

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_tp.values())

    def __bool__(self) -> bool:
        return bool(self._by_tp)

    def blocks(self, rec: InRecord) -> bool:
        """Whether an earlier record with the same key is waiting on the same partition."""
        queue = self._by_tp.get(TopicPartition(rec.topic, rec.partition))
        return bool(queue) and any(p.record.key == rec.key for p in queue)  # type: ignore[union-attr]

    def add(self, rec: InRecord, since: float) -> None:
        tp = TopicPartition(rec.topic, rec.partition)
        queue = self._by_tp.setdefault(tp, [])
        queue.append(Parked(rec, since))
        queue.sort(key=lambda p: p.record.offset)

    def hold_offset(self, tp: TopicPartition) -> int | None:
        """The lowest waiting offset on `tp`: the commit must not pass it."""
        queue = self._by_tp.get(tp)
        return queue[0].record.offset if queue else None

    def partitions(self) -> set[TopicPartition]:
        return set(self._by_tp)

    def take_all(self) -> list[Parked]:
        """Remove and return everything, partition by partition in offset order."""
        taken = [p for queue in self._by_tp.values() for p in queue]
        self._by_tp.clear()
        return taken

    def clear(self) -> None:
        self._by_tp.clear()
