"""What the generic layers need to know about one saga type, declared with the saga (pure).

The runtime, the read API, the exceptions queue and the business metrics know no saga by name:
each saga module declares a `SagaHooks` beside its definition, the registry
(`engine.sagas.REGISTRY`) pairs them, and the generic layers ask the registry. A saga that
declares nothing gets the defaults: no business metrics, no exception actions, no extra views.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.contracts.events import Event
from engine.saga.model import SagaState

Data = Mapping[str, Any]
HOUR = 3600.0
Observation = tuple[str, float]  # (cycle name, seconds)
IdPair = tuple[str, str]  # (id kind, id value), e.g. ("invoice_reference", "D-1:invoice:...")
RequestEvent = Callable[[SagaState, str, str], Event]  # (state, by, reason) -> event


def _no_observations(before: Data, after: Data) -> list[Observation]:
    return []


def _no_breaches(before: Data, after: Data) -> list[str]:
    return []


@dataclass(frozen=True, slots=True)
class ExceptionPolicy:
    """How an operator resolves a saga waiting in `state`: the inbox events a retry and a
    cancel send (built from the saga's state, the operator and the reason)."""

    state: str
    retry: RequestEvent
    cancel: RequestEvent
    # The attempt a retry must carry to count as a new one (None: the saga has no attempts).
    next_attempt: Callable[[SagaState], int | None]


@dataclass(frozen=True, slots=True)
class SagaView:
    """What the read API shows of this saga type beyond the generic state, timers and history.

    `safe_fields` are data fields any viewer may see (ids, timestamps: never amounts or names);
    `funnel` the happy-path states the overview counts deals through; `cycle_times` the seconds
    per cycle of one saga's data; `documents` named views of one saga (e.g. "invoices");
    `expected_seconds` how long a saga may stay in a state before the console calls it stuck
    (states absent wait on people or the calendar and are never stuck); `recognised_invoices`
    the invoice references one saga's data recognised revenue for (the finance view).
    """

    safe_fields: tuple[str, ...] = ()
    funnel: tuple[str, ...] = ()
    cycle_names: tuple[str, ...] = ()
    cycle_times: Callable[[Data], Mapping[str, list[float]]] | None = None
    documents: Mapping[str, Callable[[SagaState], dict[str, Any]]] = field(default_factory=dict)
    expected_seconds: Mapping[str, float] = field(default_factory=dict)
    recognised_invoices: Callable[[Data], Iterable[str]] | None = None


@dataclass(frozen=True, slots=True)
class SagaHooks:
    """A saga type's declarations for the generic layers.

    - `cycle_observations(before, after)`: cycle times completed by one step (event time);
    - `sla_breaches(before, after)`: kinds of deadline newly missed by one step;
    - `correlation_ids`: per event type, ids (best first) the runtime looks the saga key up by
      before the event's own business key (e.g. the invoice reference the saga gave billing);
    - `exceptions`: the exception queue's actions, when the saga has an exception state;
    - `view`: what the read API shows.
    """

    cycle_observations: Callable[[Data, Data], list[Observation]] = _no_observations
    sla_breaches: Callable[[Data, Data], list[str]] = _no_breaches
    correlation_ids: Mapping[str, Callable[[Any], list[IdPair]]] = field(default_factory=dict)
    exceptions: ExceptionPolicy | None = None
    view: SagaView = field(default_factory=SagaView)

    @property
    def observes(self) -> bool:
        """Whether a step of this saga has business metrics to record."""
        return (
            self.cycle_observations is not _no_observations or self.sla_breaches is not _no_breaches
        )


def jsonable(value: Any) -> Any:
    """Dates as ISO strings and Decimals as strings (exact amounts), recursively: how views
    of saga data are shown."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
