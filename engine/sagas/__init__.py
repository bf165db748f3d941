"""The saga registry: every saga type q2c runs, keyed by name, with the hooks it declares.

Adding a saga type means adding its module (definition and hooks) and one line to `_REGISTERED`:
the runtime, the read API, the exception queue, the business metrics and the demo find it here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from engine.contracts import Event
from engine.saga import SagaDefinition
from engine.saga.hooks import Data, ExceptionPolicy, IdPair, SagaHooks
from engine.sagas.change_order import CHANGE_ORDER, CHANGE_ORDER_HOOKS
from engine.sagas.milestone_to_revenue import MILESTONE_TO_REVENUE, MILESTONE_TO_REVENUE_HOOKS
from engine.sagas.quote_to_cash import QUOTE_TO_CASH
from engine.sagas.quote_to_cash_hooks import QUOTE_TO_CASH_HOOKS
from engine.sagas.time_and_expense import TIME_AND_EXPENSE, TIME_AND_EXPENSE_HOOKS


@dataclass(frozen=True, slots=True)
class RegisteredSaga:
    """A saga type: its definition and what it declares for the generic layers."""

    definition: SagaDefinition
    hooks: SagaHooks


_REGISTERED = (
    RegisteredSaga(QUOTE_TO_CASH, QUOTE_TO_CASH_HOOKS),
    RegisteredSaga(TIME_AND_EXPENSE, TIME_AND_EXPENSE_HOOKS),
    RegisteredSaga(MILESTONE_TO_REVENUE, MILESTONE_TO_REVENUE_HOOKS),
    RegisteredSaga(CHANGE_ORDER, CHANGE_ORDER_HOOKS),
)
REGISTRY: dict[str, RegisteredSaga] = {r.definition.name: r for r in _REGISTERED}
SAGAS: dict[str, SagaDefinition] = {name: r.definition for name, r in REGISTRY.items()}
# The saga that follows a deal from closed-won to cash: the demo and the board track it.
DEAL_SAGA = QUOTE_TO_CASH.name
_NO_HOOKS = SagaHooks()

# Built once: the runtime asks for every event it consumes.
_CONSUMERS: dict[str, list[SagaDefinition]] = {}
for _definition in SAGAS.values():
    for _event_type in sorted(_definition.consumed_event_types):
        _CONSUMERS.setdefault(_event_type, []).append(_definition)
_CORRELATION_IDS = {
    event_type: [
        r.hooks.correlation_ids[event_type]
        for r in _REGISTERED
        if event_type in r.hooks.correlation_ids
    ]
    for event_type in {t for r in _REGISTERED for t in r.hooks.correlation_ids}
}


def sagas_for_event(event_type: str) -> list[SagaDefinition]:
    """The saga types that consume `event_type` (a new list; empty when none does)."""
    return list(_CONSUMERS.get(event_type, ()))


def hooks_of(saga_type: str) -> SagaHooks:
    """What `saga_type` declares for the generic layers (the defaults when it is unknown)."""
    registered = REGISTRY.get(saga_type)
    return _NO_HOOKS if registered is None else registered.hooks


def correlation_ids(model: Event) -> list[IdPair]:
    """Ids the sagas declare for looking `model`'s saga key up by, before its business key."""
    extractors = _CORRELATION_IDS.get(model.envelope.event_type, ())
    return [pair for extract in extractors for pair in extract(model)]


def cycle_measure(saga_type: str) -> Callable[[Data], Mapping[str, list[float]]] | None:
    """How `saga_type` measures its cycle times from its data (None: it declares none)."""
    return hooks_of(saga_type).view.cycle_times


def is_finished(saga_type: str, state: str) -> bool:
    """Whether `state` ends a saga of `saga_type` (False for a type no longer registered)."""
    definition = SAGAS.get(saga_type)
    return definition is not None and definition.is_terminal(state)


def exception_policies() -> dict[str, ExceptionPolicy]:
    """Saga type -> its exception actions, for the saga types that have an exception state."""
    return {n: r.hooks.exceptions for n, r in REGISTRY.items() if r.hooks.exceptions is not None}


__all__ = [
    "DEAL_SAGA",
    "REGISTRY",
    "SAGAS",
    "RegisteredSaga",
    "correlation_ids",
    "cycle_measure",
    "exception_policies",
    "hooks_of",
    "is_finished",
    "sagas_for_event",
]
