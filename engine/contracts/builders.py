"""Building events from JSON-like data (adapters, `q2c publish`), filling envelope defaults."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from engine.contracts.events import Event
from engine.contracts.registry import EVENT_MODELS
from engine.contracts.validation import ContractError, validate_as


def event_from_dict(
    event_type: str, data: Mapping[str, Any], *, source_system: str | None = None
) -> Event:
    """Validate `data` as an `event_type` event; raise `ContractError` naming each bad field.

    Envelope fields that are missing get defaults: a new `event_id`, `occurred_at` now (UTC),
    `event_type` from the argument, `schema_version` 1, and `source_system` when given.
    Decimals must be strings or Decimals (parse JSON with `parse_float=Decimal`), never floats.
    """
    model = EVENT_MODELS.get(event_type)
    if model is None:
        known = ", ".join(sorted(EVENT_MODELS))
        raise ContractError(event_type, [("event_type", f"unknown event type; known: {known}")])
    if not isinstance(data, Mapping):
        raise ContractError(event_type, [("<record>", "expected a JSON object")])
    given = data.get("envelope") or {}
    if not isinstance(given, Mapping):
        raise ContractError(event_type, [("envelope", "expected a JSON object")])
    envelope: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": datetime.now(UTC),
        "schema_version": 1,
    }
    if source_system is not None:
        envelope["source_system"] = source_system
    envelope.update(given)
    return validate_as(model, {**data, "envelope": envelope}, event_type)
