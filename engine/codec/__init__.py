"""Avro wire codec: single-object encoding with schema fingerprints, and Kafka headers.

from engine.codec import decode, encode, headers_for, DecodeError
value = encode(event)                       # bytes for the Kafka record value
model = decode(msg.value, topic=msg.topic, partition=msg.partition, offset=msg.offset)
"""

from engine.codec.codec import Codec, Consumed, decode, decode_consumed, default_codec, encode
from engine.codec.errors import DecodeError, EncodeError, SchemaStoreError
from engine.codec.headers import (
    CORRELATION_ID,
    EVENT_ID,
    EVENT_TYPE,
    SCHEMA_FINGERPRINT,
    TRACEPARENT,
    headers_for,
    new_traceparent,
)
from engine.codec.store import SchemaEntry, SchemaSet, SchemaStore

__all__ = [
    "CORRELATION_ID",
    "EVENT_ID",
    "EVENT_TYPE",
    "SCHEMA_FINGERPRINT",
    "TRACEPARENT",
    "Codec",
    "Consumed",
    "DecodeError",
    "EncodeError",
    "SchemaEntry",
    "SchemaSet",
    "SchemaStore",
    "SchemaStoreError",
    "decode",
    "decode_consumed",
    "default_codec",
    "encode",
    "headers_for",
    "new_traceparent",
]
