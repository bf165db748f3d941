"""`Envelope` (first field of every event) and `CommandHeader` (first field of every command)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field

from engine.contracts.base import Record
from engine.contracts.types import INT32_MAX, Id, KebabCase, UtcTimestamp, UuidStr

SchemaVersion = Annotated[int, Field(ge=1, le=INT32_MAX)]


class Envelope(Record):
    """Identity, timing and provenance of an event; `source_ids` holds the source's own ids."""

    event_id: UuidStr
    event_type: KebabCase
    occurred_at: UtcTimestamp
    source_system: Id
    correlation_id: str | None = None
    causation_id: str | None = None
    schema_version: SchemaVersion
    source_ids: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def new(
        cls,
        event_type: str,
        source_system: str,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        source_ids: dict[str, str] | None = None,
        schema_version: int = 1,
    ) -> Envelope:
        """An envelope with a fresh event id, stamped now (UTC)."""
        return cls(
            event_id=str(uuid.uuid4()),
            event_type=event_type,
            occurred_at=datetime.now(UTC),
            source_system=source_system,
            correlation_id=correlation_id,
            causation_id=causation_id,
            schema_version=schema_version,
            source_ids=source_ids or {},
        )


class CommandHeader(Record):
    """Identity and idempotency of a command; `idempotency_key` is `<saga_key>:<step>`."""

    command_id: UuidStr
    command_type: KebabCase
    idempotency_key: Id
    saga_key: Id
    correlation_id: str
    causation_id: str
    issued_at: UtcTimestamp
    target_system: Id
    schema_version: SchemaVersion
