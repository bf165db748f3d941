"""The business-exception queue from saga states (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.exceptions_queue import exception_age, exception_items
from engine.saga.model import HistoryRecord, SagaState
from engine.sagas.quote_to_cash_hooks import next_attempt

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def parked(
    key: str, at: datetime, attempt: int = 0, reason: str | None = "account missing"
) -> SagaState:
    history = (
        HistoryRecord(None, "validating", "e1", "closed-won", at - timedelta(minutes=5)),
        HistoryRecord(
            "validating", "exception", "e2", "account-validation-failed", at, "from history"
        ),
    )
    data = {"attempt": attempt, **({"reason": reason} if reason else {})}
    return SagaState("quote-to-cash", key, "exception", data, history=history, version=2)


def test_items_are_oldest_first_with_reason_age_and_attempt() -> None:
    now = T0 + timedelta(hours=3)
    states = {
        ("quote-to-cash", "B"): parked("B", T0 + timedelta(hours=1), attempt=2),
        ("quote-to-cash", "A"): parked("A", T0, reason=None),
        ("quote-to-cash", "C"): SagaState("quote-to-cash", "C", "active"),
    }
    items = exception_items(states, now)
    assert [(i.saga_key, i.reason, i.age, i.attempt) for i in items] == [
        ("A", "from history", timedelta(hours=3), 0),
        ("B", "account missing", timedelta(hours=2), 2),
    ]
    assert items[0].to_json()["age_seconds"] == 3 * 3600


def test_age_and_next_attempt() -> None:
    state = parked("A", T0, attempt=1)
    assert exception_age(state, T0 + timedelta(seconds=90)) == timedelta(seconds=90)
    assert exception_age(state.evolve(state="active"), T0) is None
    assert next_attempt(state) == 2
    assert next_attempt(SagaState("quote-to-cash", "Z", "exception")) == 1
    # Re-entering exception after a retry restarts the clock.
    again = state.evolve(
        history=(
            *state.history,
            HistoryRecord(
                "exception",
                "validating",
                "e3",
                "exception-retry-requested",
                T0 + timedelta(hours=1),
            ),
            HistoryRecord(
                "validating",
                "exception",
                "e4",
                "account-validation-failed",
                T0 + timedelta(hours=2),
            ),
        )
    )
    assert exception_age(again, T0 + timedelta(hours=2, minutes=1)) == timedelta(minutes=1)
