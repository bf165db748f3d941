"""The worker encodes commands and status changes from the saga's values without validating
them again (engine.runtime.translate): this checks that a record built so decodes into the
model a validation of the same values gives (so every saga test also tests its records)."""

from __future__ import annotations

from datetime import datetime

from engine.codec import decode
from engine.contracts import COMMAND_MODELS, SagaStatusChanged
from engine.kafka.records import OutRecord
from engine.runtime.names import TopicNames
from engine.runtime.translate import command_record, status_record
from engine.saga.model import Effect, SagaCommand, StatusChange

NAMES = TopicNames()


def _decoded(record: OutRecord) -> object:
    return decode(
        record.value,
        topic=record.topic,
        partition=0,
        offset=0,
        headers=record.headers,
        key=record.key,
    )


def check_built_record(effect: Effect, now: datetime) -> None:
    """Raise AssertionError when the record built for `effect` is not what its contract's
    validation makes of the same values (no-op for effects that write no record)."""
    if isinstance(effect, SagaCommand):
        decoded = _decoded(command_record(effect, NAMES, now))
        model = COMMAND_MODELS[effect.command_type]
        header = getattr(decoded, "header", None)
        expected = model.model_validate({"header": header, **effect.payload})
        assert decoded == expected, f"{effect.command_type}: built {decoded!r} != {expected!r}"
    elif isinstance(effect, StatusChange):
        decoded = _decoded(status_record(effect, NAMES, now))
        expected_status = SagaStatusChanged(
            saga_type=effect.saga_type,
            saga_key=effect.saga_key,
            from_state=effect.from_state,
            to_state=effect.to_state,
            cause_event_id=effect.cause_event_id,
            cause_event_type=effect.cause_event_type,
            occurred_at=effect.occurred_at,
            recorded_at=now,
            detail=effect.detail,
        )
        assert decoded == expected_status, f"status: built {decoded!r} != {expected_status!r}"
