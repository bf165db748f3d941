"""The saga types q2c ships, keyed by name, and which of them consume a given event type."""

from __future__ import annotations

from engine.saga import SagaDefinition
from engine.sagas.milestone_to_revenue import MILESTONE_TO_REVENUE
from engine.sagas.quote_to_cash import QUOTE_TO_CASH
from engine.sagas.time_and_expense import TIME_AND_EXPENSE

SAGAS: dict[str, SagaDefinition] = {
    d.name: d for d in (QUOTE_TO_CASH, TIME_AND_EXPENSE, MILESTONE_TO_REVENUE)
}

# Built once: the runtime asks for every event it consumes.
_CONSUMERS: dict[str, list[SagaDefinition]] = {}
for _definition in SAGAS.values():
    for _event_type in sorted(_definition.consumed_event_types):
        _CONSUMERS.setdefault(_event_type, []).append(_definition)


def sagas_for_event(event_type: str) -> list[SagaDefinition]:
    """The saga types that consume `event_type` (a new list; empty when none does)."""
    return list(_CONSUMERS.get(event_type, ()))


__all__ = ["SAGAS", "sagas_for_event"]
