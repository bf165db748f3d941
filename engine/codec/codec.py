"""`Codec`: contract models <-> Avro single-object encoded bytes, the Kafka record value format.

Hot path: schemas are parsed once by the `SchemaStore`; per call there is one model dump or
validation and one fastavro read or write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from io import BytesIO
from typing import Any, Protocol

from fastavro import schemaless_reader, schemaless_writer
from pydantic import ValidationError

from engine.codec.errors import DecodeError, EncodeError
from engine.codec.framing import frame, split
from engine.codec.store import SchemaEntry, SchemaStore
from engine.contracts.base import Record
from engine.contracts.registry import ALL_MODELS
from engine.contracts.validation import describe


class Codec:
    """Encodes models with their current schema; decodes any known release into current models."""

    def __init__(self, store: SchemaStore | None = None) -> None:
        self.store = store or SchemaStore()
        # writer fingerprint -> (writer entry, current entry or None when they are the same)
        self._readers: dict[bytes, tuple[SchemaEntry, SchemaEntry | None]] = {}

    # -- records (dicts) ---------------------------------------------------------------------
    def encode_record(self, type_name: str, record: Mapping[str, Any]) -> bytes:
        """Encode a plain dict with the current schema of `type_name` (e.g. `io.q2c.Money`)."""
        try:
            entry = self.store.entry(type_name)
        except KeyError:
            raise EncodeError(f"no schema named {type_name!r}") from None
        buf = BytesIO()
        try:
            schemaless_writer(buf, entry.parsed, record)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise EncodeError(f"record does not fit schema {type_name}: {exc}") from None
        return frame(entry.fingerprint, buf.getvalue())

    def decode_record(
        self,
        data: bytes | None,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """`(type name, dict)` read with the writer's schema and resolved to the current one."""

        def fail(reason: str) -> DecodeError:
            return DecodeError(topic, partition, offset, reason)

        if data is None:
            raise fail("record has no value (tombstone)")
        try:
            fingerprint, body = split(data)
        except ValueError as exc:
            raise fail(str(exc)) from None
        writer, reader = self._resolution(fingerprint, fail)
        stream = BytesIO(body)
        try:
            record = schemaless_reader(stream, writer.parsed, reader.parsed if reader else None)
        except Exception as exc:
            # fastavro raises many types on corrupt input; their text may quote payload bytes.
            raise fail(
                f"body does not match writer schema {writer.name} ({type(exc).__name__})"
            ) from None
        if stream.tell() != len(body):
            raise fail(f"{len(body) - stream.tell()} trailing bytes after a {writer.name} body")
        if not isinstance(record, dict):
            raise fail(f"{writer.name} is not a record type")
        return writer.name, record

    def _resolution(self, fingerprint: bytes, fail: Any) -> tuple[SchemaEntry, SchemaEntry | None]:
        cached = self._readers.get(fingerprint)
        if cached is not None:
            return cached
        writer = self.store.by_fingerprint(fingerprint)
        if writer is None:
            raise fail(f"unknown schema fingerprint {fingerprint.hex()}")
        current = self.store.current.entries.get(writer.name)
        if current is None:
            raise fail(f"type {writer.name} no longer exists in the current schemas")
        resolved = (writer, None if current.fingerprint == fingerprint else current)
        self._readers[fingerprint] = resolved
        return resolved

    # -- models --------------------------------------------------------------------------------
    def encode(self, model: Record) -> bytes:
        """Encode a contract model (any record type) with its current schema."""
        return self.encode_record(model.AVRO_NAME, model.model_dump())

    def decode(
        self,
        data: bytes | None,
        *,
        topic: str,
        partition: int,
        offset: int,
        headers: Sequence[tuple[str, bytes]] = (),
        key: bytes | None = None,
    ) -> Record:
        """Decode a Kafka record value into its contract model; `DecodeError` on any problem.

        `topic`, `partition` and `offset` only locate the record in the error message. With the
        record's `headers` and `key`, classified fields sealed at the producer are opened
        (`engine.security.protection`); a field that does not open is a `DecodeError`.
        """
        name, record = self.decode_record(data, topic=topic, partition=partition, offset=offset)
        sealed = protection.sealed_header(headers)
        if sealed is not None:
            record = protection.active().open(name, record, sealed, key, (topic, partition, offset))
        model = ALL_MODELS.get(name)
        if model is None:
            raise DecodeError(topic, partition, offset, f"no contract model for {name}")
        try:
            return model.model_validate(record)
        except ValidationError as exc:
            raise DecodeError(
                topic, partition, offset, f"invalid {name}: {describe(exc)}"
            ) from None

    def fingerprint(self, model_or_name: Record | type[Record] | str) -> bytes:
        """The 8-byte (wire order) fingerprint of the current schema of a model or type name."""
        name = model_or_name if isinstance(model_or_name, str) else model_or_name.AVRO_NAME
        return self.store.entry(name).fingerprint


@lru_cache(maxsize=1)
def default_codec() -> Codec:
    """The process-wide codec over the repository's `schemas/` folder (loaded once)."""
    return Codec()


def encode(model: Record) -> bytes:
    """Encode a contract model to Avro single-object bytes (see `Codec.encode`)."""
    return default_codec().encode(model)


class Consumed(Protocol):
    """A consumed Kafka record as the codec needs it (engine.kafka.records.InRecord, DeadLetter)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


def decode_consumed(rec: Consumed) -> Record:
    """Decode a consumed record's value, located and unsealed by its own coordinates, headers
    and key (see `Codec.decode`)."""
    return decode(
        rec.value,
        topic=rec.topic,
        partition=rec.partition,
        offset=rec.offset,
        headers=rec.headers,
        key=rec.key,
    )


def decode(
    data: bytes | None,
    *,
    topic: str,
    partition: int,
    offset: int,
    headers: Sequence[tuple[str, bytes]] = (),
    key: bytes | None = None,
) -> Record:
    """Decode a Kafka record value into its contract model (see `Codec.decode`)."""
    return default_codec().decode(
        data, topic=topic, partition=partition, offset=offset, headers=headers, key=key
    )


# Imported last: field protection builds on the codec (the hook above calls it lazily).
from engine.security import protection  # noqa: E402
