"""Builds and reads dead-letter headers (pure).

Convention: Kafka Connect's `__connect.errors.*` names, so existing Connect tooling can read
q2c's dead-letter topics; fields Connect has no name for use `q2c.errors.*`. The original
record's own headers are kept ahead of these, byte for byte.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Literal, get_args

from engine.kafka.records import Headers, InRecord

P = "__connect.errors."
Q = "q2c.errors."
MAX_STACK_CHARS = 4000
ERROR_HEADER_PREFIXES = (P, Q)


# Where a record failed, in the dead letter's `stage` header (a wire value: never renamed).
DeadLetterStage = Literal["decode", "route", "process", "limit", "retry", "translate", "convert"]
DEAD_LETTER_STAGES: tuple[DeadLetterStage, ...] = get_args(DeadLetterStage)


@dataclass(frozen=True)
class Failure:
    """Why and where processing failed."""

    error_class: str
    message: str
    stage: DeadLetterStage
    processor: str
    task_id: str
    attempts: int = 1
    first_failure_ms: int = 0
    last_failure_ms: int = 0
    stacktrace: str = ""

    @classmethod
    def from_exception(
        cls,
        exc: BaseException,
        *,
        stage: DeadLetterStage,
        processor: str,
        task_id: str,
        now_ms: int,
        attempts: int = 1,
        first_failure_ms: int | None = None,
        message: str | None = None,
    ) -> Failure:
        """A failure whose message and stack trace carry no payload values.

        The stack trace lists frames only (file, line, code) and ends with the message, which is
        `message` when given, else `safe_message(exc)`.
        """
        text = message if message is not None else safe_message(exc)
        error_class = f"{type(exc).__module__}.{type(exc).__qualname__}"
        frames = "".join(traceback.format_tb(exc.__traceback__))
        return cls(
            error_class=error_class,
            message=text[:1000],
            stage=stage,
            processor=processor,
            task_id=task_id,
            attempts=attempts,
            first_failure_ms=first_failure_ms if first_failure_ms is not None else now_ms,
            last_failure_ms=now_ms,
            stacktrace=f"{frames}{error_class}: {text}"[-MAX_STACK_CHARS:],
        )


def safe_message(exc: BaseException) -> str:
    """The exception's text when its class says it is written to be safe, else only its class.

    Exceptions set `message_is_safe = True` (the codec's DecodeError, q2c's own errors) when
    their messages name fields and reasons but never values. Any other exception may quote the
    payload (pydantic echoes input values, KeyError echoes keys), so its text is withheld.
    """
    if getattr(exc, "message_is_safe", False):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__} (message withheld: it may contain payload values)"


@dataclass(frozen=True)
class Origin:
    """Where a record first entered q2c: the coordinates a dead letter or a retry points back to."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int


def origin_of(record: InRecord) -> Origin:
    """The record's first coordinates: from its error headers when a retry tier already moved
    it (so the dead letter names the command topic, not `...retry-10m`), else its own."""
    fields = error_fields(record.headers)
    try:
        return Origin(
            fields["topic"],
            int(fields["partition"]),
            int(fields["offset"]),
            int(fields.get("original.timestamp", record.timestamp_ms)),
        )
    except (KeyError, ValueError):
        return Origin(record.topic, record.partition, record.offset, record.timestamp_ms)


def dead_letter_headers(
    record: InRecord, failure: Failure, *, origin: Origin | None = None
) -> Headers:
    """The original headers (minus stale error headers from an earlier failure) plus ours.

    `origin` overrides the coordinates written (default: the record's own), for records that a
    retry tier already moved.
    """
    where = origin or Origin(record.topic, record.partition, record.offset, record.timestamp_ms)
    kept = tuple((k, v) for k, v in record.headers if not k.startswith(ERROR_HEADER_PREFIXES))
    ours = {
        P + "topic": where.topic,
        P + "partition": str(where.partition),
        P + "offset": str(where.offset),
        P + "connector.name": failure.processor,
        P + "task.id": failure.task_id,
        P + "stage": failure.stage,
        P + "class.name": failure.processor,
        P + "exception.class.name": failure.error_class,
        P + "exception.message": failure.message,
        P + "exception.stacktrace": failure.stacktrace,
        Q + "original.timestamp": str(where.timestamp_ms),
        Q + "attempts": str(failure.attempts),
        Q + "first.failure.ms": str(failure.first_failure_ms),
        Q + "last.failure.ms": str(failure.last_failure_ms),
    }
    return kept + tuple((k, v.encode()) for k, v in ours.items())


def error_fields(headers: Headers) -> dict[str, str]:
    """The error headers of a dead-lettered record as a dict with short names (`topic`, ...)."""
    out: dict[str, str] = {}
    for k, v in headers:
        for prefix in ERROR_HEADER_PREFIXES:
            if k.startswith(prefix):
                out[k[len(prefix) :]] = v.decode(errors="replace")
    return out


def original_headers(headers: Headers) -> Headers:
    """The headers the record had before it was dead-lettered."""
    return tuple((k, v) for k, v in headers if not k.startswith(ERROR_HEADER_PREFIXES))
