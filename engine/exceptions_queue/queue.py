"""The business-exception queue read from saga states (pure).

A saga is in the queue while its state is `exception` (today: a deal whose account validation
failed; `engine.sagas` says which saga types have exception actions). Its reason comes from
`state.data["reason"]`, else the detail of the history record that entered the state; its age
counts from that record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.saga.model import EXCEPTION, SagaState

EXCEPTION_STATE = EXCEPTION
StoreKey = tuple[str, str]


@dataclass(frozen=True)
class ExceptionItem:
    saga_type: str
    saga_key: str
    reason: str
    since: datetime | None
    attempt: int
    age: timedelta | None

    def to_json(self) -> dict[str, object]:
        return {
            "saga_type": self.saga_type,
            "saga_key": self.saga_key,
            "reason": self.reason,
            "since": self.since.isoformat() if self.since else None,
            "age_seconds": self.age.total_seconds() if self.age is not None else None,
            "attempt": self.attempt,
        }


def entered_exception_at(state: SagaState) -> datetime | None:
    """When the saga last entered `exception` (None if it never did or history is empty)."""
    for record in reversed(state.history):
        if record.to_state == EXCEPTION_STATE and record.from_state != EXCEPTION_STATE:
            return record.at
    return None


def exception_age(state: SagaState, now: datetime) -> timedelta | None:
    """How long the saga has waited in `exception`; None when it is not in it.

    Exposed for the observability work (an "oldest exception age" gauge).
    """
    if state.state != EXCEPTION_STATE:
        return None
    since = entered_exception_at(state)
    return None if since is None else max(timedelta(0), now - since)


def reason_of(state: SagaState) -> str:
    reason = state.data.get("reason")
    if reason:
        return str(reason)
    for record in reversed(state.history):
        if record.to_state == EXCEPTION_STATE and record.note:
            return record.note
    return "unknown"


def exception_items(states: Mapping[StoreKey, SagaState], now: datetime) -> list[ExceptionItem]:
    """Every saga in `exception`, oldest first."""
    items = [
        ExceptionItem(
            saga_type=saga_type,
            saga_key=key,
            reason=reason_of(state),
            since=entered_exception_at(state),
            attempt=int(state.data.get("attempt", 0)),
            age=exception_age(state, now),
        )
        for (saga_type, key), state in states.items()
        if state.state == EXCEPTION_STATE
    ]
    return sorted(items, key=lambda i: (i.since is None, i.since or now, i.saga_key))
