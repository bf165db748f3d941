"""Kafka record headers for a contract message, including W3C trace context."""

from __future__ import annotations

import re
import secrets

from engine.codec.codec import Codec, default_codec
from engine.contracts.base import Record
from engine.contracts.commands import Command
from engine.contracts.events import Event
from engine.contracts.registry import message_type
from engine.contracts.status import SagaStatusChanged

EVENT_TYPE = "q2c-event-type"
EVENT_ID = "q2c-event-id"
CORRELATION_ID = "q2c-correlation-id"
SCHEMA_FINGERPRINT = "q2c-schema-fingerprint"
TRACEPARENT = "traceparent"

_TRACEPARENT = re.compile(r"^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")


def new_traceparent() -> str:
    """A fresh, sampled W3C trace context (version 00)."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def valid_traceparent(value: str | None) -> bool:
    """True for a well-formed version-00 `traceparent` with non-zero ids."""
    return value is not None and _TRACEPARENT.match(value) is not None


def headers_for(
    model: Record, *, traceparent: str | None = None, codec: Codec | None = None
) -> list[tuple[str, bytes]]:
    """Headers for a message: type, id, correlation id, schema fingerprint (hex), traceparent.

    `q2c-event-type` carries the message type (event type, command type or
    `saga-status-changed`) and `q2c-event-id` the event or command id; the fingerprint is the
    hex of the 8 wire-order bytes in the value's header. A malformed `traceparent` starts a new
    trace, as the W3C spec asks, rather than propagating garbage.
    """
    message_id: str | None
    correlation: str | None
    if isinstance(model, Event):
        message_id, correlation = model.envelope.event_id, model.envelope.correlation_id
    elif isinstance(model, Command):
        message_id, correlation = model.header.command_id, model.header.correlation_id
    elif isinstance(model, SagaStatusChanged):
        message_id, correlation = None, model.saga_key
    else:
        raise TypeError(f"{type(model).__name__} is not a top-level message")
    return message_headers(
        message_type(model),
        model.AVRO_NAME,
        message_id=message_id,
        correlation_id=correlation,
        traceparent=traceparent,
        codec=codec,
    )


def message_headers(
    message_type: str,
    avro_name: str,
    *,
    message_id: str | None,
    correlation_id: str | None,
    traceparent: str | None = None,
    codec: Codec | None = None,
) -> list[tuple[str, bytes]]:
    """`headers_for` from the message's parts, for a record built without a model (the
    worker's commands and status changes)."""
    headers = [(EVENT_TYPE, message_type.encode())]
    if message_id is not None:
        headers.append((EVENT_ID, message_id.encode()))
    if correlation_id is not None:
        headers.append((CORRELATION_ID, correlation_id.encode()))
    fingerprint = (codec or default_codec()).fingerprint(avro_name)
    headers.append((SCHEMA_FINGERPRINT, fingerprint.hex().encode()))
    trace = traceparent if valid_traceparent(traceparent) else new_traceparent()
    headers.append((TRACEPARENT, str(trace).encode()))
    return headers
