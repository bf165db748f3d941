"""Library-neutral record types: what the engine sees of a Kafka record."""

from __future__ import annotations

from dataclasses import dataclass, field

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class TopicPartition:
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class InRecord:
    """A consumed record with its coordinates (what error messages and the DLQ refer to)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp_ms: int

    def header(self, name: str) -> bytes | None:
        for k, v in self.headers:
            if k == name:
                return v
        return None


@dataclass(frozen=True, slots=True)
class OutRecord:
    """A record to produce; `partition` None lets the key's hash (murmur2) choose."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers = field(default=())
    partition: int | None = None


@dataclass(frozen=True, slots=True)
class Delivered:
    """Where the broker stored a produced record."""

    topic: str
    partition: int
    offset: int
