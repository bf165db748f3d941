"""Per-task saga state store: committed states, a staging layer for the open transaction, timers.

Committed states are held as their changelog bytes (what the commit wrote, what a restore
reads): a worker holds far more sagas than it touches at a time, and the bytes take a fraction
of the decoded value's memory. Counts by state, the sagas in exception and the overview's tally
(stages reached, cycle times) are maintained as states change, so gauges and operator reads
never decode every saga. A bounded LRU keeps the recently used
states decoded. Staging is a dict of replacements (states are immutable values): commit folds
it in, abort drops it. The timer index is a heap with lazily skipped stale entries, which keeps
SetTimer/CancelTimer O(log n). Sagas that never started ("pending") and, when the store is told
which states are final, finished sagas are indexed the same way by their last event, so the
retention rules find the idle ones without a scan.
"""

from __future__ import annotations

import heapq
import json
import sys
from collections import Counter, OrderedDict
from collections.abc import Callable, Container, Iterator, Mapping
from datetime import datetime
from typing import Any

from engine.kafka.records import TopicPartition
from engine.runtime.overview import Contribution, Cycles, OverviewTally
from engine.saga.codec import (
    StateSummary,
    state_from_bytes,
    state_to_bytes,
    summary_from_bytes,
    summary_of,
)
from engine.saga.model import EXCEPTION, PENDING, SagaState

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
    return sys.intern(saga_type), saga_key


TimerSignature = tuple[tuple[str, datetime], ...]
# Whether a saga type's state is final (no transition leaves it).
Finished = Callable[[str, str], bool]


def _never_finished(_saga_type: str, _state: str) -> bool:
    return False


# How a saga type measures its cycle times from its data (None: it declares none).
CycleMeasures = Callable[[str], Callable[[Mapping[str, Any]], Cycles] | None]


def _no_cycles(_saga_type: str) -> None:
    return None


class _IdleIndex:
    """Sagas of one kind (pending, finished) by the time of their last event: a heap whose
    stale entries (a saga that moved on, was deleted or had newer events) are skipped."""

    def __init__(self) -> None:
        self._at: dict[StoreKey, datetime] = {}
        self._heap: list[tuple[datetime, StoreKey]] = []
        self._taken: list[tuple[datetime, StoreKey]] = []

    def update(self, key: StoreKey, last_event: datetime | None) -> None:
        """Index `key` at `last_event`, or drop it (None: not of this kind any more)."""
        if last_event is None:
            self._at.pop(key, None)
        elif self._at.get(key) != last_event:
            self._at[key] = last_event
            heapq.heappush(self._heap, (last_event, key))

    def take(self, before: datetime, staged: Container[StoreKey]) -> list[StoreKey]:
        """Keys whose last event was before `before`, taken off until commit or abort."""
        keys: list[StoreKey] = []
        while self._heap and self._heap[0][0] < before:
            entry = heapq.heappop(self._heap)
            if self._at.get(entry[1]) == entry[0] and entry[1] not in staged:
                keys.append(entry[1])
                self._taken.append(entry)
        return keys

    def commit(self) -> None:
        self._taken.clear()

    def abort(self) -> None:
        for entry in self._taken:
            heapq.heappush(self._heap, entry)
        self._taken.clear()


DEFAULT_CACHE_SAGAS = 2048


class SagaStore:
    """The saga states of one task (one partition number of the co-partitioned topics)."""

    # The timer index is a heap whose stale entries (timers re-armed or cancelled since, and
    # those of deleted sagas) leave only when their time comes; it is rebuilt from the armed
    # timers once it holds twice as many entries as there are live ones, and this many at least.
    TIMER_INDEX_MIN = 1024

    def __init__(
        self,
        cache_sagas: int = DEFAULT_CACHE_SAGAS,
        finished: Finished = _never_finished,
        cycle_measures: CycleMeasures = _no_cycles,
    ) -> None:
        # The changelog value of each committed saga (its state name is in the counts below).
        self._committed: dict[StoreKey, bytes] = {}
        # Committed sagas per (saga type, state name), maintained on every change: gauges and
        # operator reads must not cost a pass over every saga.
        self._counts: Counter[tuple[str, str]] = Counter()
        # Sagas in the exception state (few): the gauges read their ages every few seconds,
        # which a filter over every saga made a pass over the whole store.
        self._exceptions: set[StoreKey] = set()
        # Stages reached and cycle times of the committed sagas, for the status page overview.
        self._cycle_measures = cycle_measures
        self._tally = OverviewTally()
        # The committed share in counts and tally of sagas committed while in the decode cache
        # (dropped with them): replacing a state the step just read then costs no second
        # measure of the old one.
        self._parts: dict[StoreKey, Contribution] = {}
        # Sagas restored by `restore_latest` whose summary is not in the indexes yet (see
        # `index_restored`): a restore takes the bytes at once and the task can start.
        self._unindexed: dict[StoreKey, None] = {}
        self._cache: OrderedDict[StoreKey, SagaState] = OrderedDict()
        self._cache_sagas = cache_sagas
        self._staged: dict[StoreKey, SagaState | None] = {}  # None: delete (tombstone)
        self._staged_raw: dict[StoreKey, bytes] = {}
        self._staged_cycles: dict[StoreKey, Cycles | None] = {}  # measured when encoded
        # Armed timers per saga that has any: commit re-indexes only sagas whose set changed.
        self._armed: dict[StoreKey, TimerSignature] = {}
        self._timers: list[tuple[datetime, StoreKey]] = []
        self._timers_live = 0  # entries the last rebuild kept
        self._taken: list[StoreKey] = []  # taken off the index by `due` in the open transaction
        # Pending and finished sagas by the time of their last event, for the retention rules.
        self._finished = finished
        self._pending = _IdleIndex()
        self._done = _IdleIndex()
        self.input_offsets: dict[TopicPartition, int] = {}

    def __len__(self) -> int:
        return len(self._committed)

    def get(self, key: StoreKey) -> SagaState | None:
        if key in self._staged:
            return self._staged[key]
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        raw = self._committed.get(key)
        if raw is None:
            return None
        state = state_from_bytes(raw)
        self._remember(key, state)
        return state

    def stage(self, key: StoreKey, state: SagaState, *, raw: bytes | None = None) -> None:
        """Stage a new state for the open transaction (`raw`: its changelog bytes, if known)."""
        self._staged[key] = state
        self._staged_cycles.pop(key, None)
        if raw is None:
            self._staged_raw.pop(key, None)
        else:
            self._staged_raw[key] = raw

    def stage_delete(self, key: StoreKey) -> None:
        """Stage the saga's removal (a changelog tombstone) for the open transaction."""
        self._staged[key] = None
        self._staged_raw.pop(key, None)
        self._staged_cycles.pop(key, None)

    def staged_changelog(self) -> list[tuple[bytes, bytes | None]]:
        """(key, value) changelog records of the open transaction: one per saga, its last state
        (None: a tombstone).

        Written at commit rather than per event, so a saga that took several events in one
        batch is serialised once (and `commit` keeps these same bytes).
        """
        records: list[tuple[bytes, bytes | None]] = []
        for key, state in self._staged.items():
            if state is not None and key not in self._staged_raw:
                cycles = self._staged_cycles[key] = self._cycles(state)
                self._staged_raw[key] = state_to_bytes(state, cycles)
            records.append((changelog_key(key), self._staged_raw.get(key)))
        return records

    @property
    def dirty(self) -> bool:
        """Whether the open transaction changed any saga."""
        return bool(self._staged)

    def commit(self) -> None:
        for key, state in self._staged.items():
            if state is None:
                self._delete(key)
                continue
            staged = self._staged_cycles
            cycles = staged[key] if key in staged else self._cycles(state)
            raw = self._staged_raw.get(key) or state_to_bytes(state, cycles)
            part = self._put(key, summary_of(state, cycles), raw)
            self._remember(key, state, part)
        self._staged.clear()
        self._staged_raw.clear()
        self._staged_cycles.clear()
        self._taken.clear()
        self._pending.commit()
        self._done.commit()

    def abort(self) -> None:
        self._staged.clear()
        self._staged_raw.clear()
        self._staged_cycles.clear()
        for key in self._taken:
            for _tid, fire_at in self._armed.get(key, ()):
                heapq.heappush(self._timers, (fire_at, key))
        self._taken.clear()
        self._pending.abort()
        self._done.abort()

    def restore(self, raw_key: bytes, raw_value: bytes | None) -> None:
        """Apply one changelog record (None value = tombstone)."""
        if raw_key == INPUT_OFFSETS_KEY:
            self.input_offsets = decode_input_offsets(raw_value or b"{}")
            return
        key = parse_changelog_key(raw_key)
        self._cache.pop(key, None)
        if raw_value is None:
            self._delete(key)
            return
        # Only what the indexes need is read now; the state is decoded when first used.
        self._put(key, summary_from_bytes(raw_value), raw_value)

    def restore_latest(self, latest: Mapping[bytes, bytes | None]) -> None:
        """Apply each changelog key's last value (None: a tombstone), as `read_latest` gathers
        them: the bytes now, their summaries into the indexes by `index_restored`.

        Only the last value counts, and a changelog holds several per saga until compaction runs
        (one per commit that touched it): restoring each would parse states only to throw them
        away.

        Until then the counts, the overview, the exception index, retention and timers leave
        those sagas out (a timer due meanwhile fires once they are indexed); reading a saga,
        stepping it or deleting it works at once.
        """
        for raw_key, raw_value in latest.items():
            if raw_key == INPUT_OFFSETS_KEY or raw_value is None:
                self.restore(raw_key, raw_value)
                continue
            key = parse_changelog_key(raw_key)
            if key in self._committed and key not in self._unindexed:
                self.restore(raw_key, raw_value)  # replaces an indexed saga: at once
                continue
            self._cache.pop(key, None)
            self._committed[key] = raw_value
            self._unindexed[key] = None

    @property
    def unindexed(self) -> int:
        """Restored sagas not in the indexes yet."""
        return len(self._unindexed)

    def index_restored(self, budget: int | None = None) -> int:
        """Index up to `budget` restored sagas (None: all); returns how many are left."""
        left = len(self._unindexed) if budget is None else budget
        while self._unindexed and left > 0:
            key, _ = self._unindexed.popitem()
            raw = self._committed.pop(key)  # `_put` puts it back, with nothing to take back
            self._put(key, summary_from_bytes(raw), raw)
            left -= 1
        return len(self._unindexed)

    def encode(self, state: SagaState) -> bytes:
        """The state's changelog bytes, with the cycle times its type measures."""
        return state_to_bytes(state, self._cycles(state))

    def _cycles(self, state: SagaState) -> Cycles | None:
        measure = self._cycle_measures(state.saga_type)
        return None if measure is None else measure(state.data)

    def _contribution(self, key: StoreKey, summary: StateSummary, raw: bytes) -> Contribution:
        cycles = summary.cycles
        if cycles is None and self._cycle_measures(key[0]) is not None:
            # Written before the bytes kept cycle times: measured from the decoded state.
            cycles = self._cycles(state_from_bytes(raw))
        kept = {name: seconds for name, seconds in (cycles or {}).items() if seconds}
        return Contribution(key[0], summary.state, summary.reached, kept)

    def _committed_part(self, key: StoreKey, raw: bytes) -> Contribution:
        """A committed state's share in the counts and the overview tally."""
        part = self._parts.pop(key, None)
        if part is not None:
            return part
        cached = self._cache.get(key)
        if cached is not None:
            return self._contribution(key, summary_of(cached, self._cycles(cached)), raw)
        return self._contribution(key, summary_from_bytes(raw), raw)

    def _was_unindexed(self, key: StoreKey) -> bool:
        """Whether `key` waited for `index_restored` (it is indexed from now on)."""
        if key in self._unindexed:
            del self._unindexed[key]
            return True
        return False

    def _delete(self, key: StoreKey) -> None:
        gone = self._committed.pop(key, None)
        # A saga restored but never indexed has no share to take back.
        if gone is not None and not self._was_unindexed(key):
            old = self._committed_part(key, gone)
            self._uncount(key[0], old.state)
            self._tally.remove(old)
        self._exceptions.discard(key)
        self._cache.pop(key, None)
        self._armed.pop(key, None)
        self._pending.update(key, None)
        self._done.update(key, None)

    def _uncount(self, saga_type: str, state: str) -> None:
        self._counts[(saga_type, state)] -= 1
        if not self._counts[(saga_type, state)]:
            del self._counts[(saga_type, state)]

    def _put(self, key: StoreKey, summary: StateSummary, raw: bytes) -> Contribution:
        """Index a committed state; returns its share in the counts and the tally."""
        name = sys.intern(summary.state)
        part = self._contribution(key, summary, raw)
        old_raw = self._committed.get(key)
        if old_raw is not None and self._was_unindexed(key):
            old_raw = None  # restored, never indexed: nothing of it to take back
        old = None if old_raw is None else self._committed_part(key, old_raw)
        if old is not None:
            self._uncount(key[0], old.state)
        # Most steps change neither the states reached nor a cycle time.
        if old is None or (old.reached, old.cycles) != (part.reached, part.cycles):
            if old is not None:
                self._tally.remove(old)
            self._tally.add(part)
        self._counts[(key[0], name)] += 1
        self._committed[key] = raw
        if name == EXCEPTION:
            self._exceptions.add(key)
        else:
            self._exceptions.discard(key)
        signature = summary.timers
        # Index only changed timer sets: the heap would otherwise grow with every event.
        if signature != self._armed.get(key, ()):
            for _tid, fire_at in signature:
                heapq.heappush(self._timers, (fire_at, key))
        if signature:
            self._armed[key] = signature
        else:
            self._armed.pop(key, None)
        if len(self._timers) > max(self.TIMER_INDEX_MIN, 2 * self._timers_live):
            self._compact_timers()
        last_event = summary.last_event_at
        self._pending.update(key, last_event if name == PENDING else None)
        self._done.update(key, last_event if self._finished(key[0], name) else None)
        return part

    def _compact_timers(self) -> None:
        """Rebuild the timer index from the armed timers, dropping its stale entries.

        Without this a worker's heap grows with every deal until the earliest stale time
        (days, for SLA timers), however few sagas it holds. Keys taken by `due` in the open
        transaction stay out: `abort` puts theirs back.
        """
        taken = set(self._taken)
        self._timers = [
            (fire_at, key)
            for key, signature in self._armed.items()
            if key not in taken
            for _tid, fire_at in signature
        ]
        heapq.heapify(self._timers)
        self._timers_live = len(self._timers)

    @property
    def timer_index_size(self) -> int:
        """Entries in the timer index, live and stale (see `TIMER_INDEX_MIN`)."""
        return len(self._timers)

    def _remember(self, key: StoreKey, state: SagaState, part: Contribution | None = None) -> None:
        """Keep a committed state decoded (with its share of the tally, when known)."""
        self._cache[key] = state
        self._cache.move_to_end(key)
        if part is None:
            self._parts.pop(key, None)
        else:
            self._parts[key] = part
        if len(self._cache) > self._cache_sagas:
            evicted, _ = self._cache.popitem(last=False)
            self._parts.pop(evicted, None)

    def due(self, now: datetime) -> list[StoreKey]:
        """Keys of sagas with a committed timer due at `now` (each once).

        Taken off the index until the open transaction ends: `abort` puts them back, so a
        timer whose firing was rolled back fires again.
        """
        keys: list[StoreKey] = []
        while self._timers and self._timers[0][0] <= now:
            fire_at, key = heapq.heappop(self._timers)
            armed = self._armed.get(key, ())
            # Entries of timers since re-armed, cancelled or fired are stale: skip them.
            if key not in keys and any(at == fire_at for _tid, at in armed):
                keys.append(key)
        self._taken.extend(keys)
        return keys

    def holds(self, key: StoreKey) -> bool:
        """Whether the saga exists, counting the open transaction's changes (no decoding)."""
        if key in self._staged:
            return self._staged[key] is not None
        return key in self._committed

    def idle_pending(self, before: datetime) -> list[StoreKey]:
        """Keys of committed sagas still "pending" whose last event was before `before`.

        Taken off the index until the open transaction ends (`abort` puts them back).
        """
        return self._pending.take(before, self._staged)

    def idle_finished(self, before: datetime) -> list[StoreKey]:
        """Keys of committed sagas in a final state whose last event was before `before`
        (taken off the index like `idle_pending`)."""
        return self._done.take(before, self._staged)

    def overview(self) -> OverviewTally:
        """Stages reached and cycle times of the committed sagas (a copy; maintained)."""
        tally = OverviewTally()
        tally.merge(self._tally)
        return tally

    def state_counts(self) -> Counter[tuple[str, str]]:
        """Committed sagas per (saga type, state name), without decoding any (maintained)."""
        return Counter(self._counts)

    def items(self) -> Iterator[tuple[StoreKey, SagaState]]:
        """Committed states (decoded one by one)."""
        for key, raw in list(self._committed.items()):
            yield key, self._decoded(key, raw)

    def in_exception(self) -> Iterator[tuple[StoreKey, SagaState]]:
        """Committed sagas in the exception state, from their index (no pass over the store)."""
        for key in sorted(self._exceptions):
            yield key, self._decoded(key, self._committed[key])

    def _decoded(self, key: StoreKey, raw: bytes) -> SagaState:
        # Reads for operators do not refill the cache: the hot path's sagas stay in it.
        cached = self._cache.get(key)
        return cached if cached is not None else state_from_bytes(raw)
