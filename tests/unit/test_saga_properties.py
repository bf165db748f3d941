"""Order- and duplicate-tolerance: redelivered and reordered histories end where in-order ones do.

For each saga, a valid history is folded in order once; hypothesis then permutes the parts a
saga must tolerate being reordered (replies before what they answer, milestones before
activation, payments before invoices, time entries in any order), redelivers random events
after their first delivery, and checks the final state, the data and the commands (by
idempotency key, with payloads) are the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.saga import SagaDefinition
from engine.sagas import SAGAS
from tests.unit.sagas_fixtures import (
    DEAL,
    History,
    Item,
    Run,
    Tick,
    milestone_contract,
    milestone_happy_path,
    milestone_ref,
    run,
    tm_contract,
)


@st.composite
def delivered(draw: st.DrawFn, segments: Sequence[Sequence[Item]]) -> list[Item]:
    """Each segment permuted (Ticks stay between segments), then random redeliveries of
    events anywhere after their first delivery."""
    items: list[Item] = []
    for segment in segments:
        items += draw(st.permutations(list(segment)))
    events = [i for i in items if not isinstance(i, Tick)]
    for event in draw(st.lists(st.sampled_from(events), max_size=6)):
        first = items.index(event)
        items.insert(draw(st.integers(first + 1, len(items))), event)
    return items


def assert_same_outcome(actual: Run, expected: Run) -> None:
    assert actual.state.state == expected.state.state
    assert actual.state.data == expected.state.data
    assert actual.keys == expected.keys
    assert actual.by_key() == expected.by_key()
    assert actual.correlations() == expected.correlations()
    assert actual.state.parked == ()


def _fold(definition: SagaDefinition, segments: Sequence[Sequence[Item]]) -> Run:
    return run(definition, [item for segment in segments for item in segment])


# --- quote-to-cash -------------------------------------------------------------------------

Q2C = SAGAS["quote-to-cash"]
Q2C_HISTORY = [milestone_happy_path(History())]
Q2C_IN_ORDER = _fold(Q2C, Q2C_HISTORY)


def test_q2c_in_order_history_completes() -> None:
    assert Q2C_IN_ORDER.state.state == "completed"


@given(delivered(Q2C_HISTORY))
@settings(max_examples=150)
def test_q2c_tolerates_any_order_and_redelivery(items: list[Item]) -> None:
    assert_same_outcome(run(Q2C, items), Q2C_IN_ORDER)


# --- time-and-expense ----------------------------------------------------------------------

TE = SAGAS["time-and-expense"]


def _te_segments() -> list[list[Item]]:
    h = History()
    before_first_close: list[Item] = [
        h.closed_won(tm_contract()),
        h.time_entry("E1", "engineer", date(2024, 1, 2), "8"),
        h.time_entry("E2", "architect", date(2024, 1, 3), "2.25"),
        h.time_entry("E3", "juggler", date(2024, 1, 4), "1"),  # rejected: unknown role
        h.time_entry("E1", "engineer", date(2024, 1, 2), "8"),  # re-sent entry, new event id
        h.expense("X1", "travel", date(2024, 1, 5), "120.50"),
        h.time_entry("E4", "engineer", date(2024, 2, 2), "3"),  # period 1 already
    ]
    before_last_close: list[Item] = [
        h.time_entry("E5", "engineer", date(2024, 2, 10), "7.5"),
        h.time_entry("E6", "engineer", date(2024, 1, 20), "1"),  # late: period 0 is invoiced
        h.expense("X2", "hotel", date(2024, 2, 11), "99.99"),
    ]
    return [
        before_first_close,
        [Tick(datetime(2024, 1, 31, tzinfo=UTC))],
        before_last_close,
        [Tick(datetime(2024, 3, 1, tzinfo=UTC))],
    ]


TE_SEGMENTS = _te_segments()
TE_IN_ORDER = _fold(TE, TE_SEGMENTS)


def test_te_in_order_history_bills_two_periods() -> None:
    assert TE_IN_ORDER.state.state == "completed"
    assert TE_IN_ORDER.keys == {
        f"{DEAL}:te-invoice:period:0",
        f"{DEAL}:te-invoice:period:1",
    }


@given(delivered(TE_SEGMENTS))
@settings(max_examples=150)
def test_te_tolerates_entries_in_any_order_and_redelivery(items: list[Item]) -> None:
    assert_same_outcome(run(TE, items), TE_IN_ORDER)


# --- milestone-to-revenue ------------------------------------------------------------------

M2R = SAGAS["milestone-to-revenue"]


def _m2r_history() -> list[list[Item]]:
    h = History()
    return [
        [
            h.closed_won(milestone_contract()),
            h.invoice_issued("I-1", milestone_ref("M1"), "1000"),
            h.invoice_issued("I-9", f"{DEAL}:te-invoice:period:0", "5"),
            h.invoice_issued("I-2", milestone_ref("M2"), "500"),
        ]
    ]


M2R_HISTORY = _m2r_history()
M2R_IN_ORDER = _fold(M2R, M2R_HISTORY)


def test_m2r_in_order_history_completes() -> None:
    assert M2R_IN_ORDER.state.state == "completed"
    assert len(M2R_IN_ORDER.keys) == 2


@given(delivered(M2R_HISTORY))
def test_m2r_tolerates_invoices_before_closed_won_and_redelivery(items: list[Item]) -> None:
    assert_same_outcome(run(M2R, items), M2R_IN_ORDER)
