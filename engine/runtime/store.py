"""Per-task saga state store: committed states, a staging layer for the open transaction, timers.

States are immutable values, so staging is a dict of replacements: commit folds it into the
committed map, abort drops it. The timer index is a heap rebuilt lazily (stale entries are
skipped when popped), which keeps SetTimer/CancelTimer O(log n).
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from datetime import datetime

from engine.kafka.records import TopicPartition
from engine.saga.codec import state_from_bytes, state_to_bytes
from engine.saga.model import SagaState

StoreKey = tuple[str, str]  # (saga_type, saga_key)
# The task's input offsets, written in every exactly-once transaction beside the states: the
# group's committed offsets become visible asynchronously after a commit, so a new owner that
# read them at once could re-read a committed batch. The changelog read to its end (read
# committed) is exact.
INPUT_OFFSETS_KEY = b"__input_offsets__"


def encode_input_offsets(offsets: dict[TopicPartition, int]) -> bytes:
    return json.dumps({f"{tp.partition}|{tp.topic}": off for tp, off in offsets.items()}).encode()


def decode_input_offsets(raw: bytes) -> dict[TopicPartition, int]:
    out: dict[TopicPartition, int] = {}
    for name, offset in json.loads(raw).items():
        partition, _, topic = name.partition("|")
        out[TopicPartition(topic, int(partition))] = int(offset)
    return out


def changelog_key(key: StoreKey) -> bytes:
    return f"{key[0]}|{key[1]}".encode()


def parse_changelog_key(raw: bytes) -> StoreKey:
    saga_type, _, saga_key = raw.decode().partition("|")
    return saga_type, saga_key


class SagaStore:
    """The saga states of one task (one partition number of the co-partitioned topics)."""

    def __init__(self) -> None:
        self._committed: dict[StoreKey, SagaState] = {}
        self._staged: dict[StoreKey, SagaState] = {}
        self._timers: list[tuple[datetime, StoreKey]] = []
        self.input_offsets: dict[TopicPartition, int] = {}

    def __len__(self) -> int:
        return len(self._committed)

    def get(self, key: StoreKey) -> SagaState | None:
        staged = self._staged.get(key)
        return staged if staged is not None else self._committed.get(key)

    def stage(self, key: StoreKey, state: SagaState) -> None:
        """Stage a new state for the open transaction."""
        self._staged[key] = state

    def staged_changelog(self) -> list[tuple[bytes, bytes]]:
        """(key, value) changelog records of the open transaction: one per saga, its last state.

        Written at commit rather than per event, so a saga that took several events in one
        batch is serialised once.
        """
        return [(changelog_key(k), state_to_bytes(s)) for k, s in self._staged.items()]

    @property
    def dirty(self) -> bool:
        """Whether the open transaction changed any saga."""
        return bool(self._staged)

    def unstage(self, key: StoreKey) -> None:
        """Drop the open transaction's change to one saga."""
        self._staged.pop(key, None)

    def commit(self) -> None:
        for key, state in self._staged.items():
            previous = self._committed.get(key)
            self._committed[key] = state
            # Index only changed timer sets: the heap would otherwise grow with every event.
            if previous is None or previous.timers != state.timers:
                self._index_timers(key, state)
        self._staged.clear()

    def abort(self) -> None:
        self._staged.clear()

    def restore(self, raw_key: bytes, raw_value: bytes | None) -> None:
        """Apply one changelog record (None value = tombstone)."""
        if raw_key == INPUT_OFFSETS_KEY:
            self.input_offsets = decode_input_offsets(raw_value or b"{}")
            return
        key = parse_changelog_key(raw_key)
        if raw_value is None:
            self._committed.pop(key, None)
            return
        state = state_from_bytes(raw_value)
        self._committed[key] = state
        self._index_timers(key, state)

    def _index_timers(self, key: StoreKey, state: SagaState) -> None:
        for _name, fire_at, _data in state.timers.values():
            heapq.heappush(self._timers, (fire_at, key))

    def due(self, now: datetime) -> list[StoreKey]:
        """Keys of sagas with a timer due at `now` (each once)."""
        keys: list[StoreKey] = []
        while self._timers and self._timers[0][0] <= now:
            _, key = heapq.heappop(self._timers)
            if key not in keys:
                keys.append(key)
        return keys

    def items(self) -> Iterator[tuple[StoreKey, SagaState]]:
        yield from self._committed.items()
