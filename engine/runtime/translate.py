"""Converts between contract models and the saga core's values, and effects into records.

Commands and status changes are encoded from the saga's values as they are, without a second
pydantic validation: everything in them comes from events validated when they were decoded,
from the saga's own data (the same values, through the state codec) or from the engine
(ids, times). That validation was about 30% of a command's cost. The encoder still refuses
what its schema cannot carry, and `tests/unit/built_records.py` (run by every saga test) checks that every command and
status change the sagas build decodes into the model a validation would give.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from engine.codec import default_codec
from engine.codec.headers import message_headers
from engine.contracts import COMMAND_MODELS, COMMAND_TARGETS, Event, SagaStatusChanged
from engine.kafka.records import OutRecord
from engine.runtime.names import TopicNames
from engine.saga.model import SagaCommand, SagaEvent, StatusChange
from engine.security.protection import seal_record

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
    avro_name = COMMAND_MODELS[cmd.command_type].AVRO_NAME
    command_id = str(uuid.uuid5(COMMAND_NAMESPACE, cmd.idempotency_key))
    header = {
        "command_id": command_id,
        "command_type": cmd.command_type,
        "idempotency_key": cmd.idempotency_key,
        "saga_key": cmd.saga_key,
        "correlation_id": cmd.saga_key,
        "causation_id": cmd.causation_id,
        "issued_at": now,
        "target_system": cmd.target_system,
        "schema_version": 1,
    }
    topic, key = names.commands(COMMAND_TARGETS[cmd.command_type]), cmd.saga_key.encode()
    # The worker re-seals what it emits: commands carry rates and terms to the adapters.
    value, sealed = seal_record(avro_name, {"header": header, **cmd.payload}, topic, key)
    headers = message_headers(
        cmd.command_type,
        avro_name,
        message_id=command_id,
        correlation_id=cmd.saga_key,
        traceparent=traceparent,
    )
    return OutRecord(topic, key, value, (*headers, *sealed))


def status_record(
    change: StatusChange, names: TopicNames, now: datetime, traceparent: str | None = None
) -> OutRecord:
    record = {
        "saga_type": change.saga_type,
        "saga_key": change.saga_key,
        "from_state": change.from_state,
        "to_state": change.to_state,
        "cause_event_id": change.cause_event_id,
        "cause_event_type": change.cause_event_type,
        "occurred_at": change.occurred_at,
        "recorded_at": now,
        "detail": change.detail,
    }
    headers = message_headers(
        SagaStatusChanged.MESSAGE_TYPE,
        SagaStatusChanged.AVRO_NAME,
        message_id=None,
        correlation_id=change.saga_key,
        traceparent=traceparent,
    )
    return OutRecord(
        topic=names.status,
        key=change.saga_key.encode(),
        value=default_codec().encode_record(SagaStatusChanged.AVRO_NAME, record),
        headers=tuple(headers),
    )
