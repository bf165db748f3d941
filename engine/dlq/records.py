"""A dead-lettered record as an operator sees it, parsed from its headers (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from engine.dlq.headers import error_fields, original_headers
from engine.kafka.records import Headers, InRecord


class RefError(ValueError):
    """A DLQ reference is not `<dlq-topic>:<partition>:<offset>`."""


def format_ref(topic: str, partition: int, offset: int) -> str:
    return f"{topic}:{partition}:{offset}"


def parse_ref(ref: str) -> tuple[str, int, int]:
    """`(topic, partition, offset)` of `<dlq-topic>:<partition>:<offset>` (topics have no `:`)."""
    parts = ref.rsplit(":", 2)
    if len(parts) != 3 or not parts[0]:
        raise RefError(f"{ref!r} is not <dlq-topic>:<partition>:<offset>")
    try:
        partition, offset = int(parts[1]), int(parts[2])
    except ValueError:
        raise RefError(f"{ref!r}: partition and offset must be integers") from None
    if partition < 0 or offset < 0:
        raise RefError(f"{ref!r}: partition and offset must not be negative")
    return parts[0], partition, offset


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic with its error headers decoded."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp_ms: int

    @classmethod
    def from_record(cls, rec: InRecord) -> DeadLetter:
        return cls(
            rec.topic, rec.partition, rec.offset, rec.key, rec.value, rec.headers, rec.timestamp_ms
        )

    @property
    def ref(self) -> str:
        return format_ref(self.topic, self.partition, self.offset)

    @cached_property
    def errors(self) -> dict[str, str]:
        # Parsed once: listings and summaries read several fields of every letter.
        return error_fields(self.headers)

    @property
    def key_text(self) -> str:
        return "" if self.key is None else self.key.decode(errors="replace")

    @property
    def original_topic(self) -> str:
        """The topic the record failed on; a DLQ without headers falls back to its own name."""
        topic = self.errors.get("topic")
        if topic:
            return topic
        return self.topic.removesuffix(".dlq")

    @property
    def original_partition(self) -> int:
        return _int(self.errors.get("partition"), -1)

    @property
    def original_offset(self) -> int:
        return _int(self.errors.get("offset"), -1)

    @property
    def error_class(self) -> str:
        return self.errors.get("exception.class.name", "unknown")

    @property
    def error_name(self) -> str:
        """The short class name (`DecodeError`), for tables."""
        return self.error_class.rsplit(".", 1)[-1]

    @property
    def message(self) -> str:
        return self.errors.get("exception.message", "")

    @property
    def stage(self) -> str:
        return self.errors.get("stage", "")

    def header(self, name: str) -> str | None:
        """The value of the record's header `name`, if it carried one."""
        for k, v in self.headers:
            if k == name:
                return v.decode(errors="replace")
        return None

    @property
    def event_type(self) -> str | None:
        """The `q2c-event-type` header the record carried, if any."""
        return self.header("q2c-event-type")

    @property
    def attempts(self) -> int:
        return _int(self.errors.get("attempts"), 1)

    @property
    def failed_at(self) -> datetime:
        """When it was dead-lettered (last failure), else the DLQ record's timestamp."""
        ms = _int(self.errors.get("last.failure.ms"), self.timestamp_ms)
        return datetime.fromtimestamp(ms / 1000, UTC)

    @property
    def replay_headers(self) -> Headers:
        """The headers to re-publish: the original ones, minus any earlier replay's marks."""
        return tuple(
            (k, v) for k, v in original_headers(self.headers) if not k.startswith("q2c.replay.")
        )

    def summary(self) -> dict[str, object]:
        """JSON-ready description without the value (payloads are not printed in listings)."""
        return {
            "ref": self.ref,
            "key": self.key_text,
            "original_topic": self.original_topic,
            "original_partition": self.original_partition,
            "original_offset": self.original_offset,
            "error_class": self.error_class,
            "message": self.message,
            "stage": self.stage,
            "attempts": self.attempts,
            "failed_at": self.failed_at.isoformat(),
        }
