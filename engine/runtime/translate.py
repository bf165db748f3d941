"""Converts between contract models and the saga core's values, and effects into records."""

from __future__ import annotations

import uuid
from datetime import datetime

from engine.codec import encode, headers_for
from engine.contracts import (
    COMMAND_MODELS,
    COMMAND_TARGETS,
    CommandHeader,
    Event,
    SagaStatusChanged,
)
from engine.kafka.records import OutRecord
from engine.runtime.names import TopicNames
from engine.saga.model import SagaCommand, SagaEvent, StatusChange
from engine.security.protection import seal_model

# Command ids derive from idempotency keys, so a re-emitted command is recognisably the same.
COMMAND_NAMESPACE = uuid.UUID("6f1d3c1e-9a57-4f55-9a1e-2c7a4f0b9d11")
SAGA_KEY_HEADER = "q2c-saga-key"


def to_saga_event(model: Event, saga_key: str) -> SagaEvent:
    """The saga core's view of a decoded event: its identity and time, and the model itself."""
    envelope = model.envelope
    return SagaEvent(
        event_id=envelope.event_id,
        event_type=envelope.event_type,
        saga_key=saga_key,
        occurred_at=envelope.occurred_at,
        payload=model,
    )


def command_record(
    cmd: SagaCommand, names: TopicNames, now: datetime, traceparent: str | None = None
) -> OutRecord:
    """Encode a saga command for its target system's topic, keyed by saga key.

    `traceparent` continues the trace of the event that caused the command (else a new one).
    """
    model_cls = COMMAND_MODELS[cmd.command_type]
    header = CommandHeader(
        command_id=str(uuid.uuid5(COMMAND_NAMESPACE, cmd.idempotency_key)),
        command_type=cmd.command_type,
        idempotency_key=cmd.idempotency_key,
        saga_key=cmd.saga_key,
        correlation_id=cmd.saga_key,
        causation_id=cmd.causation_id,
        issued_at=now,
        target_system=cmd.target_system,
        schema_version=1,
    )
    model = model_cls.model_validate({"header": header, **cmd.payload})
    topic, key = names.commands(COMMAND_TARGETS[cmd.command_type]), cmd.saga_key.encode()
    # The worker re-seals what it emits: commands carry rates and terms to the adapters.
    value, sealed = seal_model(model, topic, key)
    return OutRecord(topic, key, value, (*headers_for(model, traceparent=traceparent), *sealed))


def status_record(
    change: StatusChange, names: TopicNames, now: datetime, traceparent: str | None = None
) -> OutRecord:
    model = SagaStatusChanged(
        saga_type=change.saga_type,
        saga_key=change.saga_key,
        from_state=change.from_state,
        to_state=change.to_state,
        cause_event_id=change.cause_event_id,
        cause_event_type=change.cause_event_type,
        occurred_at=change.occurred_at,
        recorded_at=now,
        detail=change.detail,
    )
    return OutRecord(
        topic=names.status,
        key=change.saga_key.encode(),
        value=encode(model),
        headers=tuple(headers_for(model, traceparent=traceparent)),
    )
