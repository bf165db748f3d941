"""`SagaStatusChanged`: one saga state transition, on `q2c.saga.status` keyed by saga key."""

from __future__ import annotations

from typing import ClassVar

from engine.contracts.base import Record
from engine.contracts.types import Id, KebabCase, UtcTimestamp


class SagaStatusChanged(Record):
    MESSAGE_TYPE: ClassVar[str] = "saga-status-changed"
    TOPIC: ClassVar[str] = "q2c.saga.status"

    saga_type: Id
    saga_key: Id
    from_state: str | None = None
    to_state: str
    cause_event_id: str
    cause_event_type: KebabCase
    occurred_at: UtcTimestamp
    recorded_at: UtcTimestamp
    detail: str | None = None
