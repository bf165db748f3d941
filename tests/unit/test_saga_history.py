"""A saga keeps every state change and only its latest in-state history records."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from engine.saga.codec import state_to_bytes
from engine.saga.engine import HISTORY_IN_STATE_LIMIT, with_history
from engine.saga.model import HistoryRecord
from engine.sagas import SAGAS
from tests.unit.sagas_fixtures import History, run, tm_contract

AT = datetime(2026, 1, 1, tzinfo=UTC)
_records = st.lists(
    st.tuples(st.sampled_from("abc"), st.sampled_from("abc")),
    max_size=3 * HISTORY_IN_STATE_LIMIT,
).map(
    lambda pairs: [
        HistoryRecord(src, dst, f"e{i}", "evt", AT, None) for i, (src, dst) in enumerate(pairs)
    ]
)


def _in_state(records: tuple[HistoryRecord, ...] | list[HistoryRecord]) -> list[HistoryRecord]:
    return [r for r in records if r.from_state == r.to_state]


@given(records=_records, split=st.integers(0, 3 * HISTORY_IN_STATE_LIMIT))
def test_state_changes_all_kept_and_in_state_records_latest_first(
    records: list[HistoryRecord], split: int
) -> None:
    # Built one event at a time from any earlier (already bounded) history.
    history = with_history((), *records[:split])
    for record in records[split:]:
        history = with_history(history, record)
    assert [r for r in history if r.from_state != r.to_state] == [
        r for r in records if r.from_state != r.to_state
    ]
    expected_in_state = _in_state(records)[-HISTORY_IN_STATE_LIMIT:]
    assert _in_state(history) == expected_in_state
    # Nothing reordered: the kept records are the full history minus the dropped ones.
    assert list(history) == [
        r for r in records if r.from_state != r.to_state or r in expected_in_state
    ]


def test_a_long_time_and_materials_project_keeps_a_bounded_history() -> None:
    """Every time entry used to add a history record to the changelog value written at each
    commit; now the value grows by the entry's ids only."""
    definition = SAGAS["time-and-expense"]
    h = History()
    state = run(definition, [h.closed_won(tm_contract())]).state
    sizes = {}
    for n in range(1, 301):
        day = date(2024, 1, 2) + timedelta(days=n % 25)
        state = run(definition, [h.time_entry(f"E{n}", "engineer", day, "1")], state).state
        sizes[n] = len(state_to_bytes(state))
    assert len(_in_state(state.history)) == HISTORY_IN_STATE_LIMIT
    assert state.history[0].from_state == "pending"  # when it started is kept
    per_entry = (sizes[300] - sizes[100]) / 200
    assert per_entry < 60, per_entry  # an event id and an entry id; was ~135 B with history
