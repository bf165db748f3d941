"""The saga store: changelog restore, staging, the decode cache and the timer index."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.kafka.records import TopicPartition
from engine.runtime.overview import Contribution, Cycles, tally_of
from engine.runtime.store import (
    INPUT_OFFSETS_KEY,
    SagaStore,
    StoreKey,
    changelog_key,
    decode_input_offsets,
    encode_input_offsets,
)
from engine.saga.codec import state_to_bytes, summary_of
from engine.saga.model import HistoryRecord, SagaState, Timer


def test_input_offsets_round_trip_and_are_not_sagas() -> None:
    offsets = {TopicPartition("p.q2c.crm.events", 3): 17, TopicPartition("p.q2c.saga.inbox", 3): 4}
    assert decode_input_offsets(encode_input_offsets(offsets)) == offsets
    store = SagaStore()
    store.restore(INPUT_OFFSETS_KEY, encode_input_offsets(offsets))
    state = SagaState("quote-to-cash", "D|1", "active")
    store.restore(changelog_key(("quote-to-cash", "D|1")), state_to_bytes(state))
    assert store.input_offsets == offsets
    assert [k for k, _ in store.items()] == [("quote-to-cash", "D|1")]


def test_changelog_holds_one_record_per_saga_per_transaction() -> None:
    store = SagaStore()
    key = ("quote-to-cash", "D-1")
    store.stage(key, SagaState("quote-to-cash", "D-1", "validating"))
    store.stage(key, SagaState("quote-to-cash", "D-1", "creating_project"))
    records = store.staged_changelog()
    assert len(records) == 1 and b"creating_project" in (records[0][1] or b"")
    store.abort()
    assert store.get(key) is None and not store.dirty


# -- committed states kept as bytes behind a bounded decode cache --------------------------

KEYS = [("quote-to-cash", f"D-{i}") for i in range(4)] + [("time-and-expense", "D-0")]
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def _state(key: StoreKey, name: str, version: int, timer_minutes: int | None) -> SagaState:
    timers = {}
    if timer_minutes is not None:
        timers["sla"] = Timer("sla", BASE + timedelta(minutes=timer_minutes), {"n": version})
    return SagaState(
        key[0],
        key[1],
        name,
        data={"amount": Decimal("1.50"), "n": version},
        timers=timers,
        version=version,
    )


_ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("stage"),
            st.sampled_from(KEYS),
            st.sampled_from(["validating", "active", "exception"]),
            st.one_of(st.none(), st.integers(0, 60)),
        ),
        st.tuples(st.just("commit")),
        st.tuples(st.just("abort")),
        st.tuples(st.just("restore"), st.sampled_from(KEYS), st.booleans(), st.booleans()),
        st.tuples(st.just("get"), st.sampled_from(KEYS)),
        st.tuples(st.just("index"), st.integers(0, 3)),
    ),
    max_size=60,
)


def _measure(saga_type: str) -> Callable[[Mapping[str, Any]], Cycles] | None:
    """quote-to-cash measures one cycle (its data's version, when not a multiple of 3, in
    seconds); other types none."""
    if saga_type != "quote-to-cash":
        return None
    return lambda data: {"n": [float(data["n"])] if data["n"] % 3 else []}


def _contribution(state: SagaState) -> Contribution:
    measure = _measure(state.saga_type)
    cycles = measure(state.data) if measure else {}
    return Contribution(state.saga_type, state.state, summary_of(state).reached, cycles)


@settings(max_examples=150, deadline=None)
@given(ops=_ops, cache_sagas=st.sampled_from([1, 2, 1000]))
def test_store_reads_back_what_was_committed_whatever_the_cache_size(
    ops: list[tuple[Any, ...]], cache_sagas: int
) -> None:
    store = SagaStore(cache_sagas=cache_sagas, cycle_measures=_measure)
    store.TIMER_INDEX_MIN = 2  # the timer index is rebuilt often: it must lose no timer
    committed: dict[StoreKey, SagaState] = {}  # the model: plain decoded values
    staged: dict[StoreKey, SagaState] = {}
    for version, op in enumerate(ops, start=1):
        if op[0] == "stage":
            state = _state(op[1], op[2], version, op[3])
            store.stage(op[1], state)
            staged[op[1]] = state
        elif op[0] == "commit":
            store.staged_changelog()
            store.commit()
            committed.update(staged)
            staged.clear()
        elif op[0] == "abort":
            store.abort()
            staged.clear()
        elif op[0] == "restore" and not staged:  # restores happen between transactions
            key, tombstone, latest = op[1], op[2], op[3]
            if tombstone:
                store.restore(changelog_key(key), None)
                committed.pop(key, None)
            else:
                state = _state(key, "restored", version, version % 3 or None)
                # Bytes written with the cycle times, and bytes from before they were kept.
                raw = store.encode(state) if version % 2 else state_to_bytes(state)
                if latest:  # the bytes at once, the indexes later (or on the saga's next change)
                    store.restore_latest({changelog_key(key): raw})
                else:
                    store.restore(changelog_key(key), raw)
                committed[key] = state
        elif op[0] == "index":
            store.index_restored(op[1])
        elif op[0] == "get":
            expected = staged.get(op[1], committed.get(op[1]))
            assert store.get(op[1]) == expected
    assert dict(store.items()) == committed
    assert len(store) == len(committed)
    assert store.index_restored() == 0 and store.unindexed == 0
    assert store.state_counts() == Counter((k[0], s.state) for k, s in committed.items())
    assert dict(store.in_exception()) == {
        k: s for k, s in committed.items() if s.state == "exception"
    }
    # The overview's maintained tally is the one counted from the states themselves.
    tally = tally_of(_contribution(s) for s in committed.values())
    assert (store.overview().paths, store.overview().cycles) == (tally.paths, tally.cycles)
    # Every committed armed timer falls due exactly once; nothing else does.
    far = BASE + timedelta(days=1)
    assert sorted(store.due(far)) == sorted(k for k, s in committed.items() if s.timers)
    assert store.due(far) == []


def test_unchanged_timers_are_not_indexed_again() -> None:
    """A saga that takes many events with the same armed timer fires once when it falls due."""
    store = SagaStore(cache_sagas=1)
    key = ("quote-to-cash", "D-1")
    for version in range(50):
        store.stage(key, _state(key, "active", version, 10))
        store.commit()
    assert store.due(BASE + timedelta(minutes=9)) == []
    assert store.due(BASE + timedelta(minutes=10)) == [key]
    assert store.due(BASE + timedelta(days=1)) == []


def test_the_timer_index_stays_in_proportion_to_the_armed_timers() -> None:
    """Deals come and go, each re-arming its SLA timer and then leaving: the index holds the
    armed timers, not every timer ever armed until its time comes (a worker's memory)."""
    store = SagaStore(cache_sagas=1)
    for deal in range(20_000):
        key = ("quote-to-cash", f"D-{deal}")
        store.stage(key, _state(key, "active", 1, 600))
        store.stage(key, _state(key, "active", 2, 900))  # staged over: one state per commit
        store.commit()
        store.stage(key, _state(key, "active", 3, 1200))  # re-armed
        store.commit()
        if deal % 10:
            store.stage_delete(key)  # finished and expired: 9 deals in 10 leave
            store.commit()
    assert store.timer_index_size <= max(SagaStore.TIMER_INDEX_MIN, 2 * 2_000)
    due = store.due(BASE + timedelta(days=1))
    assert sorted(due) == sorted(("quote-to-cash", f"D-{d}") for d in range(0, 20_000, 10))


def test_a_timer_whose_firing_was_rolled_back_fires_again() -> None:
    store = SagaStore()
    key = ("quote-to-cash", "D-1")
    store.stage(key, _state(key, "active", 1, 10))
    store.commit()
    later = BASE + timedelta(minutes=11)
    assert store.due(later) == [key]
    store.stage(key, _state(key, "escalated", 2, None))  # the firing's new state...
    store.abort()  # ...whose transaction failed
    assert store.due(later) == [key]
    store.stage(key, _state(key, "escalated", 2, None))
    store.commit()
    assert store.due(later + timedelta(days=1)) == []


# -- retention of sagas that never started -----------------------------------------------


def _pending(key: StoreKey, last_event_minutes: int) -> SagaState:
    at = BASE + timedelta(minutes=last_event_minutes)
    note = HistoryRecord("pending", "pending", f"e{last_event_minutes}", "invoice-issued", at)
    return SagaState(key[0], key[1], "pending", history=(note,))


def test_pending_sagas_idle_past_the_cutoff_are_found_and_deleted_with_a_tombstone() -> None:
    store = SagaStore()
    idle, busy, started = (("quote-to-cash", f"D-{i}") for i in range(3))
    store.stage(idle, _pending(idle, 0))
    store.stage(busy, _pending(busy, 0))
    store.stage(started, _pending(started, 0))
    store.commit()
    store.stage(busy, _pending(busy, 50))  # a newer event keeps it
    store.stage(started, _state(started, "active", 2, None))  # it started: never expires
    store.commit()
    cutoff = BASE + timedelta(minutes=30)
    assert store.idle_pending(cutoff) == [idle]
    store.stage_delete(idle)
    assert store.get(idle) is None
    assert store.staged_changelog() == [(changelog_key(idle), None)]
    store.commit()
    assert store.get(idle) is None and len(store) == 2
    assert store.state_counts() == {("quote-to-cash", "pending"): 1, ("quote-to-cash", "active"): 1}
    assert store.idle_pending(BASE + timedelta(days=1)) == [busy]


def test_an_expiry_rolled_back_is_found_again_and_a_restore_rebuilds_the_index() -> None:
    store = SagaStore()
    key = ("quote-to-cash", "D-1")
    store.restore(changelog_key(key), state_to_bytes(_pending(key, 0)))
    cutoff = BASE + timedelta(minutes=1)
    assert store.idle_pending(cutoff) == [key]
    store.stage_delete(key)
    store.abort()
    assert store.get(key) is not None
    assert store.idle_pending(cutoff) == [key]
    store.abort()
    store.restore(changelog_key(key), None)  # a tombstone read back
    assert store.idle_pending(cutoff) == [] and len(store) == 0


def _at(key: StoreKey, name: str, last_event_minutes: int) -> SagaState:
    at = BASE + timedelta(minutes=last_event_minutes)
    note = HistoryRecord("active", name, f"e{last_event_minutes}", "payment-received", at)
    return SagaState(key[0], key[1], name, history=(note,))


def test_finished_sagas_idle_past_the_cutoff_are_found_the_others_kept() -> None:
    store = SagaStore(finished=lambda _saga_type, state: state == "completed")
    done, recent, running, pending = (("quote-to-cash", f"D-{i}") for i in range(4))
    store.stage(done, _at(done, "completed", 0))
    store.stage(recent, _at(recent, "completed", 50))
    store.stage(running, _at(running, "active", 0))
    store.stage(pending, _pending(pending, 0))
    store.commit()
    cutoff = BASE + timedelta(minutes=30)
    assert store.idle_finished(cutoff) == [done]  # neither the recent, running nor pending one
    store.abort()  # rolled back: found again
    assert store.idle_finished(cutoff) == [done]
    store.stage_delete(done)
    store.commit()
    assert store.get(done) is None and store.idle_finished(BASE + timedelta(days=1)) == [recent]
    store.abort()
    store.stage(recent, _at(recent, "active", 60))  # reopened: no longer finished
    store.commit()
    assert store.idle_finished(BASE + timedelta(days=1)) == []
    assert store.idle_pending(cutoff) == [pending]


def test_without_a_finished_rule_no_saga_counts_as_finished() -> None:
    store = SagaStore()
    key = ("quote-to-cash", "D-1")
    store.restore(changelog_key(key), state_to_bytes(_at(key, "completed", 0)))
    assert store.idle_finished(BASE + timedelta(days=365)) == []


_changelog = st.lists(
    st.tuples(
        st.sampled_from([*KEYS, "offsets"]),
        st.sampled_from(["validating", "active", "exception", None]),  # None: a tombstone
        st.one_of(st.none(), st.integers(0, 60)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(records=_changelog)
def test_restoring_each_keys_last_record_equals_restoring_every_record(
    records: list[tuple[Any, str | None, int | None]],
) -> None:
    everything, restored = SagaStore(), SagaStore()
    latest: dict[bytes, bytes | None] = {}  # each key's last value, as `read_latest` keeps
    for offset, (key, name, timer) in enumerate(records):
        if key == "offsets":
            raw_key = INPUT_OFFSETS_KEY
            value: bytes | None = encode_input_offsets({TopicPartition("t", 0): offset})
        else:
            raw_key = changelog_key(key)
            state = _state(key, name, offset, timer) if name is not None else None
            value = None if state is None else state_to_bytes(state)
        everything.restore(raw_key, value)
        latest[raw_key] = value
    restored.restore_latest(latest)
    assert dict(restored.items()) == dict(everything.items())
    restored.index_restored()
    assert restored.state_counts() == everything.state_counts()
    assert restored.input_offsets == everything.input_offsets
    far = BASE + timedelta(days=1)
    assert sorted(restored.due(far)) == sorted(everything.due(far))


_after_restore = st.lists(
    st.one_of(
        st.tuples(
            st.just("step"),
            st.sampled_from(KEYS),
            st.sampled_from(["active", "exception", None]),  # None: deleted
            st.one_of(st.none(), st.integers(0, 60)),
        ),
        st.tuples(st.just("index"), st.integers(0, 3)),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(
    restored=st.lists(st.sampled_from(KEYS), unique=True, min_size=1),
    ops=_after_restore,
    cache_sagas=st.sampled_from([1, 1000]),
)
def test_a_store_indexed_after_its_restore_ends_as_one_indexed_during_it(
    restored: list[StoreKey], ops: list[tuple[Any, ...]], cache_sagas: int
) -> None:
    """`restore_latest` takes the bytes and leaves the indexes to `index_restored`: sagas
    stepped or deleted before they were indexed must end counted, tallied and timed exactly as
    in a store that indexed them while restoring."""
    eager = SagaStore(cache_sagas=cache_sagas, cycle_measures=_measure)
    lazy = SagaStore(cache_sagas=cache_sagas, cycle_measures=_measure)
    latest: dict[bytes, bytes | None] = {}
    for offset, key in enumerate(restored):
        raw = eager.encode(_state(key, "validating", offset + 1, offset % 2 or None))
        eager.restore(changelog_key(key), raw)
        latest[changelog_key(key)] = raw
    lazy.restore_latest(latest)
    assert lazy.unindexed == len(restored)
    for version, op in enumerate(ops, start=100):
        for store in (eager, lazy):
            if op[0] == "index":
                store.index_restored(op[1])
                continue
            key, name, timer = op[1], op[2], op[3]
            store.get(key)  # as a step reads the saga first
            if name is None:
                store.stage_delete(key)
            else:
                store.stage(key, _state(key, name, version, timer))
            store.staged_changelog()
            store.commit()
        assert dict(lazy.items()) == dict(eager.items())
    lazy.index_restored()
    assert lazy.state_counts() == eager.state_counts()
    assert (lazy.overview().paths, lazy.overview().cycles) == (
        eager.overview().paths,
        eager.overview().cycles,
    )
    assert dict(lazy.in_exception()) == dict(eager.in_exception())
    far = BASE + timedelta(days=1)
    assert sorted(lazy.due(far)) == sorted(eager.due(far))
