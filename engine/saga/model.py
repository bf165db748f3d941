"""Value types shared by the saga engine, the saga definitions and the runtime.

Everything here is an immutable value. `Mapping` fields hold plain dicts by convention and are
never mutated after construction: every change builds a new dict (shallow copy of one level), so
older `SagaState` values stay valid and share everything they did not change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, NamedTuple

from engine.saga.payload import Payload, payload_fields
from engine.saga.seen import SeenIds

PENDING = "pending"
# The state of a saga waiting for an operator (the business-exception queue).
EXCEPTION = "exception"


@dataclass(frozen=True, slots=True, eq=False)
class SagaEvent:
    """An input to a saga: a domain event (payload = its contract model) or a timer firing
    (event_type "timer-fired", payload a `TimerFiring`).

    Two events are equal when what the state changelog keeps of them is (ids, type, time and
    the payload's plain form): an envelope's provenance is not part of a saga's state, so a
    parked event restored from the changelog equals the live one it was.
    """

    event_id: str
    event_type: str
    saga_key: str
    occurred_at: datetime
    payload: Payload

    def _identity(self) -> tuple[str, str, str, datetime]:
        return (self.event_id, self.event_type, self.saga_key, self.occurred_at)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SagaEvent):
            return NotImplemented
        return self._identity() == other._identity() and (
            self.payload is other.payload
            or payload_fields(self.payload) == payload_fields(other.payload)
        )

    def __hash__(self) -> int:
        return hash(self._identity())


@dataclass(frozen=True, slots=True)
class SagaCommand:
    """A request to a target system; payload = the command's fields after `header`."""

    command_type: str
    target_system: str
    idempotency_key: str
    saga_key: str
    causation_id: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A saga changed state (or reported a detail while staying in its state)."""

    saga_type: str
    saga_key: str
    from_state: str | None
    to_state: str
    cause_event_id: str
    cause_event_type: str
    occurred_at: datetime
    detail: str | None


@dataclass(frozen=True, slots=True)
class SetTimer:
    """Arm (or re-arm) the timer `timer_id`; it fires as a "timer-fired" event at `fire_at`."""

    timer_id: str
    name: str
    fire_at: datetime
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Disarm the timer `timer_id`."""

    timer_id: str


@dataclass(frozen=True, slots=True)
class Correlate:
    """Map a source-system id (e.g. id_kind "project_id") to this saga's key."""

    id_kind: str
    id_value: str


Effect = SagaCommand | StatusChange | SetTimer | CancelTimer | Correlate


class Timer(NamedTuple):
    """An armed timer as kept in `SagaState.timers`."""

    name: str
    fire_at: datetime
    data: Mapping[str, Any]


class HistoryRecord(NamedTuple):
    """One processed event: a transition (from_state -> to_state) or a note (parked, ignored)."""

    from_state: str | None
    to_state: str
    event_id: str
    event_type: str
    at: datetime
    note: str | None = None


@dataclass(frozen=True, slots=True)
class SagaState:
    """The whole persisted state of one saga instance, keyed by (saga_type, saga_key).

    `version` grows by one for every event that changed the state (applied, parked or ignored
    with a note); duplicates leave the state, and so the version, untouched.
    """

    saga_type: str
    saga_key: str
    state: str = PENDING
    data: Mapping[str, Any] = field(default_factory=dict)
    parked: tuple[SagaEvent, ...] = ()
    seen: SeenIds = field(default_factory=SeenIds)
    timers: Mapping[str, Timer] = field(default_factory=dict)
    history: tuple[HistoryRecord, ...] = ()
    version: int = 0

    def evolve(self, **changes: Any) -> SagaState:
        """A copy with `changes` applied (fields not named are shared, not copied)."""
        # Field by field rather than dataclasses.replace, which costs several times more: a
        # step evolves a state two or three times. A name that is not a field raises TypeError.
        unknown = changes.keys() - _STATE_FIELDS
        if unknown:
            raise TypeError(f"SagaState has no field {sorted(unknown)[0]!r}")
        return SagaState(
            changes.get("saga_type", self.saga_type),
            changes.get("saga_key", self.saga_key),
            changes.get("state", self.state),
            changes.get("data", self.data),
            changes.get("parked", self.parked),
            changes.get("seen", self.seen),
            changes.get("timers", self.timers),
            changes.get("history", self.history),
            changes.get("version", self.version),
        )


_STATE_FIELDS = frozenset(f.name for f in fields(SagaState))


@dataclass(frozen=True, slots=True)
class Decision:
    """What `step` returns: the next state and the effects the runtime must carry out."""

    state: SagaState
    effects: tuple[Effect, ...]
