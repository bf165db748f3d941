"""The generic saga core: declarative definitions and a pure interpreter (no Kafka, no I/O)."""

from engine.saga.codec import state_from_bytes, state_to_bytes
from engine.saga.definition import (
    Context,
    Outcome,
    ParkRule,
    SagaDefinition,
    SagaDefinitionError,
    TimerOn,
    Transition,
    park,
    timer,
    transition,
)
from engine.saga.engine import due_timers, next_timer_at, step
from engine.saga.model import (
    CancelTimer,
    Correlate,
    Decision,
    Effect,
    HistoryRecord,
    SagaCommand,
    SagaEvent,
    SagaState,
    SetTimer,
    StatusChange,
    Timer,
)
from engine.saga.payload import TimerFiring
from engine.saga.values import plain

__all__ = [
    "CancelTimer",
    "Context",
    "Correlate",
    "Decision",
    "Effect",
    "HistoryRecord",
    "Outcome",
    "ParkRule",
    "SagaCommand",
    "SagaDefinition",
    "SagaDefinitionError",
    "SagaEvent",
    "SagaState",
    "SetTimer",
    "StatusChange",
    "Timer",
    "TimerFiring",
    "TimerOn",
    "Transition",
    "due_timers",
    "next_timer_at",
    "park",
    "plain",
    "state_from_bytes",
    "state_to_bytes",
    "step",
    "timer",
    "transition",
]
