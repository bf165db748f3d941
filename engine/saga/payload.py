"""What a saga event carries: the contract model it was decoded as, or a timer firing.

Handlers read the payload typed (`ctx.payload.invoice.invoice_id`). The state changelog keeps
a parked event's payload in its plain form (the contract's fields minus the envelope, as the
format always had it); `payload_from_fields` rebuilds the model from that form on restore.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.contracts.envelope import Envelope
from engine.contracts.events import Event
from engine.contracts.registry import EVENT_MODELS
from engine.saga.values import plain

TIMER_FIRED = "timer-fired"
# The source system of a restored event's envelope: the changelog keeps only its id, type and
# time (`SagaEvent` holds those), not its provenance.
RESTORED_SOURCE = "saga-state"


@dataclass(frozen=True, slots=True)
class TimerFiring:
    """The payload of a timer firing (`on=timer(name)`, handlers take `Context[TimerFiring, D]`):
    the timer's id and name and the data it was armed with."""

    timer_id: str
    name: str
    data: Mapping[str, Any] = field(default_factory=dict)


Payload = Event | TimerFiring


def payload_fields(payload: Payload) -> dict[str, Any]:
    """The plain form the changelog keeps: a contract's fields minus the envelope, or
    {"timer_id", "name", **the timer's data} for a timer firing."""
    if isinstance(payload, TimerFiring):
        return {"timer_id": payload.timer_id, "name": payload.name, **payload.data}
    return {
        name: plain(getattr(payload, name))
        for name in type(payload).model_fields
        if name != "envelope"
    }


def payload_from_fields(
    event_type: str, event_id: str, occurred_at: datetime, fields: Mapping[str, Any]
) -> Payload:
    """Inverse of `payload_fields`: the model is validated again (as it was when decoded), its
    envelope rebuilt from the event's id, type and time."""
    if event_type == TIMER_FIRED:
        data = dict(fields)
        timer_id, name = data.pop("timer_id"), data.pop("name")
        return TimerFiring(timer_id, name, data)
    model = EVENT_MODELS.get(event_type)
    if model is None:
        raise ValueError(f"saga event {event_id}: no event type {event_type!r} in the contracts")
    # Built as it was kept: the envelope was validated when the event was first decoded.
    envelope = Envelope.model_construct(
        event_id=event_id,
        event_type=event_type,
        occurred_at=occurred_at,
        source_system=RESTORED_SOURCE,
        schema_version=1,
    )
    return model.model_validate({**fields, "envelope": envelope})
