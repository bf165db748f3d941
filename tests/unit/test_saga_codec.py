"""state_to_bytes / state_from_bytes: exact round trips, including Decimal, date, datetime."""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.saga import (
    HistoryRecord,
    SagaEvent,
    SagaState,
    Timer,
    TimerFiring,
    state_from_bytes,
    state_to_bytes,
    step,
)
from engine.saga.codec import summary_from_bytes, summary_of
from engine.saga.payload import TIMER_FIRED
from engine.saga.seen import SeenIds
from engine.sagas import SAGAS
from tests.unit.sagas_fixtures import NOW, History, milestone_happy_path

zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), None])
# fold only matters for ambiguous local times; fixed offsets ignore it and ISO text drops it.
datetimes = st.datetimes(timezones=zones).map(lambda d: d.replace(fold=0))
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.dates()
    | datetimes
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
data_maps = st.dictionaries(st.text(max_size=8), values, max_size=6)
ids = st.text(min_size=1, max_size=12)
# A timer firing carries its timer's data beside its id and name (nested values: see `data`).
timer_data = st.dictionaries(
    st.text(max_size=8).filter(lambda k: k not in ("timer_id", "name")), scalars, max_size=3
)
timer_firings = st.builds(TimerFiring, ids, ids, timer_data)
# Parked contract events: every type of a whole deal's history, under any ids and times.
contract_events = st.builds(
    lambda event_id, key, at, e: SagaEvent(event_id, e.event_type, key, at, e.payload),
    ids,
    ids,
    datetimes,
    st.sampled_from(milestone_happy_path(History())),
)
events = st.builds(SagaEvent, ids, st.just(TIMER_FIRED), ids, datetimes, timer_firings) | (
    contract_events
)
history = st.builds(
    HistoryRecord, st.none() | ids, ids, ids, ids, datetimes, st.none() | st.text(max_size=10)
)
states = st.builds(
    SagaState,
    saga_type=ids,
    saga_key=ids,
    state=ids,
    data=data_maps,
    parked=st.lists(events, max_size=3).map(tuple),
    seen=st.lists(ids, max_size=300).map(SeenIds.of),
    timers=st.dictionaries(ids, st.builds(Timer, ids, datetimes, data_maps), max_size=3),
    history=st.lists(history, max_size=4).map(tuple),
    version=st.integers(min_value=0),
)


def _exact(value: Any) -> Any:
    """Equality that also tells Decimal('1.0') from Decimal('1.00') and 1 from True."""
    return json.dumps(value, default=repr, sort_keys=True)


@given(states)
def test_any_state_round_trips_exactly(state: SagaState) -> None:
    decoded = state_from_bytes(state_to_bytes(state))
    assert decoded == state
    assert _exact(decoded.data) == _exact(state.data)
    assert state_to_bytes(decoded) == state_to_bytes(state)


@settings(suppress_health_check=[HealthCheck.too_slow])  # the state strategy is a big one
@given(states)
def test_the_summary_a_restore_reads_equals_the_decoded_states(state: SagaState) -> None:
    """A store restored from bytes indexes states, timers and idle sagas as if it had decoded
    every state."""
    assert summary_from_bytes(state_to_bytes(state)) == summary_of(state)


def test_encoding_is_compact_json() -> None:
    state = SagaState("t", "k", data={"a": [1, 2]})
    raw = state_to_bytes(state)
    assert b" " not in raw
    assert json.loads(raw)["data"] == {"a": [1, 2]}


def test_a_restored_saga_continues_exactly_as_the_live_one() -> None:
    definition = SAGAS["quote-to-cash"]
    history = milestone_happy_path(History())
    live = None
    for index, event in enumerate(history):
        live = step(definition, live, event, NOW).state
        restored = state_from_bytes(state_to_bytes(live))
        assert restored == live
        if index + 1 < len(history):
            nxt = history[index + 1]
            assert step(definition, restored, nxt, NOW) == step(definition, live, nxt, NOW)


def test_encoded_states_hold_no_more_memory_than_their_length() -> None:
    """A store keeps every saga's bytes: an encoder handing back an oversized buffer (orjson
    keeps 8 KB for a 0.7 KB state) would multiply a worker's memory by ten."""
    state = SagaState("quote-to-cash", "D-1", "active", data={"note": "x" * 700})
    tracemalloc.start()
    try:
        kept = [state_to_bytes(state) for _ in range(200)]
        allocated, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert allocated < 1.5 * sum(len(raw) for raw in kept)
