"""Builds contract commands the way the engine issues them, for tests that play the engine."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from engine.contracts import COMMAND_MODELS, COMMAND_TARGETS, Command, CommandHeader


def command(
    command_type: str,
    saga_key: str,
    step: str,
    *,
    issued_at: datetime | None = None,
    **fields: Any,
) -> Command:
    """A `command_type` command for `saga_key` with idempotency key `<saga_key>:<step>`."""
    header = CommandHeader(
        command_id=str(uuid.uuid4()),
        command_type=command_type,
        idempotency_key=f"{saga_key}:{step}",
        saga_key=saga_key,
        correlation_id=saga_key,
        causation_id=str(uuid.uuid4()),
        issued_at=issued_at or datetime.now(UTC),
        target_system=COMMAND_TARGETS[command_type],
        schema_version=1,
    )
    return COMMAND_MODELS[command_type](header=header, **fields)
