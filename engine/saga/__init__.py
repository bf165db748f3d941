"""The generic saga core: declarative definitions and a pure interpreter (no Kafka, no I/O)."""

from engine.saga.codec import state_from_bytes, state_to_bytes
from engine.saga.definition import (
    Context,
    Outcome,
    ParkRule,
    SagaDefinition,
    SagaDefinitionError,
    Transition,
    park,
    transition,
)
from engine.saga.engine import due_timers, next_timer_at, step
from engine.saga.model import (
    CancelTimer,
    Command,
    Correlate,
    Decision,
    Effect,
    Event,
    HistoryRecord,
    SagaState,
    SetTimer,
    StatusChange,
    Timer,
)

__all__ = [
    "CancelTimer",
    "Command",
    "Context",
    "Correlate",
    "Decision",
    "Effect",
    "Event",
    "HistoryRecord",
    "Outcome",
    "ParkRule",
    "SagaDefinition",
    "SagaDefinitionError",
    "SagaState",
    "SetTimer",
    "StatusChange",
    "Timer",
    "Transition",
    "due_timers",
    "next_timer_at",
    "park",
    "state_from_bytes",
    "state_to_bytes",
    "step",
    "transition",
]
