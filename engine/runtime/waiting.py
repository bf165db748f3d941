"""Records waiting for their saga key to become known (pure bookkeeping, no I/O).

A record whose business key is not yet in the correlation index waits here. Later records of
the same input partition with the same record key queue behind it in a *line* (their relative
order is the order of their saga's events); records with other keys go ahead. The input offset
may not be committed past the lowest waiting offset, so a crash re-reads the waiting records,
and the records after them are deduplicated by the sagas' event-id sets.

Every operation costs O(1) or O(log n) in the number of waiting records, whatever the input:
lines are found by (partition, key), a line is woken by the correlation ids its head waits on
(the correlation table calls `learnt`), expiry and the commit bound use heaps whose stale
entries are skipped lazily. A line is bounded (`max_per_key`): past it, `add` refuses.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.kafka.records import InRecord, TopicPartition

# Records one key may have waiting on one partition: a key flooded with events whose saga
# never becomes known must not grow without bound (the excess is dead-lettered).
DEFAULT_MAX_PER_KEY = 1_000

LineKey = tuple[TopicPartition, bytes | None]


@dataclass(frozen=True, slots=True)
class Parked:
    record: InRecord
    since: float  # monotonic seconds when it first had to wait


@dataclass(slots=True)
class _Line:
    """One key's waiting records on one partition, in offset order; the head waits on ids."""

    waits_on: tuple[str, ...]
    records: deque[Parked] = field(default_factory=deque)


@dataclass(frozen=True, slots=True)
class Released:
    """A line taken out of the room: re-handle `records` in order (`expired`: the head waited
    past the bound and must be dead-lettered)."""

    records: tuple[Parked, ...]
    expired: bool


class LineFull(Exception):
    """`add` refused a record: its key already has `max_per_key` records waiting."""

    message_is_safe = True


class WaitRoom:
    """Waiting records by (input partition, record key)."""

    def __init__(self, max_per_key: int = DEFAULT_MAX_PER_KEY) -> None:
        self.max_per_key = max_per_key
        self._lines: dict[LineKey, _Line] = {}
        self._count = 0
        # Correlation index key -> lines whose head waits on it.
        self._by_id: dict[str, set[LineKey]] = {}
        self._ready: dict[LineKey, None] = {}  # woken lines, in wake order
        # (since, seq, line key, line): heads by age, for expiry; stale once the line is gone.
        self._ages: list[tuple[float, int, LineKey, _Line]] = []
        self._seq = itertools.count()
        # Per partition: a heap of waiting offsets and the set of those still waiting.
        self._offsets: dict[TopicPartition, list[int]] = {}
        self._live: dict[TopicPartition, set[int]] = {}

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def blocks(self, rec: InRecord) -> bool:
        """Whether an earlier record with the same key is waiting on the same partition."""
        return (TopicPartition(rec.topic, rec.partition), rec.key) in self._lines

    def add(self, rec: InRecord, since: float, waits_on: Iterable[str] = ()) -> None:
        """Park `rec`: behind its key's line if there is one, else as the head of a new line
        woken when one of `waits_on` (correlation index keys) is learnt.

        Raises `LineFull` when the key already has `max_per_key` records waiting.
        """
        tp = TopicPartition(rec.topic, rec.partition)
        line_key = (tp, rec.key)
        line = self._lines.get(line_key)
        if line is None:
            line = _Line(tuple(waits_on))
            self._lines[line_key] = line
            for index_key in line.waits_on:
                self._by_id.setdefault(index_key, set()).add(line_key)
            heapq.heappush(self._ages, (since, next(self._seq), line_key, line))
        elif len(line.records) >= self.max_per_key:
            raise LineFull(
                f"{len(line.records):,} records of this key already wait for their saga's "
                f"correlation on {tp.topic}-{tp.partition} (limit {self.max_per_key:,})"
            )
        line.records.append(Parked(rec, since))
        self._count += 1
        heapq.heappush(self._offsets.setdefault(tp, []), rec.offset)
        self._live.setdefault(tp, set()).add(rec.offset)

    def learnt(self, index_key: str) -> None:
        """A correlation index entry appeared: the lines waiting on it may route now."""
        for line_key in self._by_id.pop(index_key, ()):
            if line_key in self._lines:
                self._ready[line_key] = None

    @property
    def has_ready(self) -> bool:
        return bool(self._ready)

    def release(self, expired_before: float) -> list[Released]:
        """Take out the woken lines and those whose head has waited since before
        `expired_before` (monotonic seconds), oldest first within each kind."""
        out = [Released(self._remove(k), expired=False) for k in list(self._ready)]
        while self._ages and self._ages[0][0] < expired_before:
            _since, _seq, line_key, line = heapq.heappop(self._ages)
            if self._lines.get(line_key) is line:
                out.append(Released(self._remove(line_key), expired=True))
        return out

    def _remove(self, line_key: LineKey) -> tuple[Parked, ...]:
        line = self._lines.pop(line_key)
        self._ready.pop(line_key, None)
        for index_key in line.waits_on:
            waiting = self._by_id.get(index_key)
            if waiting is not None:
                waiting.discard(line_key)
                if not waiting:
                    del self._by_id[index_key]
        tp = line_key[0]
        live = self._live[tp]
        for parked in line.records:
            live.discard(parked.record.offset)
        if not live:
            del self._live[tp], self._offsets[tp]
        elif len(self._offsets[tp]) > 2 * len(live) + 64:
            # Stale entries leave the heap lazily; rebuild it before they outnumber the live.
            self._offsets[tp] = sorted(live)
        if len(self._ages) > 2 * len(self._lines) + 64:
            self._ages = [entry for entry in self._ages if self._lines.get(entry[2]) is entry[3]]
            heapq.heapify(self._ages)
        self._count -= len(line.records)
        return tuple(line.records)

    def hold_offset(self, tp: TopicPartition) -> int | None:
        """The lowest waiting offset on `tp`: the commit must not pass it."""
        heap = self._offsets.get(tp)
        if not heap:
            return None
        live = self._live[tp]
        while heap[0] not in live:
            heapq.heappop(heap)
        return heap[0]

    def partitions(self) -> set[TopicPartition]:
        return set(self._live)

    def clear(self) -> None:
        self._lines.clear()
        self._by_id.clear()
        self._ready.clear()
        self._ages.clear()
        self._offsets.clear()
        self._live.clear()
        self._count = 0
