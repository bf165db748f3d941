"""Builds the records a `CommandRunner` writes when a command fails (pure).

A command moved to a retry tier or the dead-letter topic keeps its key, value and original
headers; failure details travel in the dead-letter headers of `engine.dlq.headers`, plus:

- `q2c.errors.retry.due.ms`: when the tier may attempt it (epoch ms);
- `q2c.errors.retry.tier`: the tier number (1 = first retry topic);
- `q2c.errors.followed`: "true" when it was not attempted but followed an earlier command of
  its key into the tier (per-key ordering).

The `__connect.errors.topic/partition/offset` headers always name the command's first
coordinates, however many tiers it went through, so replay sends it back where it came from.
"""

from __future__ import annotations

from engine.dlq.headers import (
    ERROR_HEADER_PREFIXES,
    Failure,
    Origin,
    P,
    Q,
    dead_letter_headers,
    error_fields,
    origin_of,
)
from engine.kafka.records import Headers, InRecord, OutRecord

DUE_HEADER = Q + "retry.due.ms"
TIER_HEADER = Q + "retry.tier"
FOLLOWED_HEADER = Q + "followed"


def previous_attempts(rec: InRecord) -> int:
    """Handler attempts already made on this command (0 for a fresh command)."""
    try:
        return int(error_fields(rec.headers).get("attempts", "0"))
    except ValueError:
        return 0


def first_failure_ms(rec: InRecord) -> int | None:
    """When the command first failed, if it has failed before."""
    value = error_fields(rec.headers).get("first.failure.ms")
    try:
        return int(value) if value else None
    except ValueError:
        return None


def due_ms(rec: InRecord) -> int:
    """When a tier record may be attempted; its timestamp when the header is missing."""
    value = rec.header(DUE_HEADER)
    try:
        return int(value) if value is not None else rec.timestamp_ms
    except ValueError:
        return rec.timestamp_ms


def _retry_marks(due: int, tier: int) -> Headers:
    return ((DUE_HEADER, str(due).encode()), (TIER_HEADER, str(tier).encode()))


def to_retry(rec: InRecord, failure: Failure, topic: str, tier: int, due: int) -> OutRecord:
    """The failed command, queued in retry `topic` (tier `tier`) until `due`.

    Same partition number as the record it came from, so every command of a key stays in one
    partition of each tier, in order.
    """
    headers = dead_letter_headers(rec, failure, origin=origin_of(rec))
    return OutRecord(topic, rec.key, rec.value, headers + _retry_marks(due, tier), rec.partition)


def to_dead_letter(rec: InRecord, failure: Failure, dlq_topic: str) -> OutRecord:
    """The command, dead-lettered with its first coordinates (keyed, partition by key)."""
    return OutRecord(
        dlq_topic, rec.key, rec.value, dead_letter_headers(rec, failure, origin=origin_of(rec))
    )


def to_follow(rec: InRecord, topic: str, tier: int, due: int) -> OutRecord:
    """The command, not attempted, queued behind an earlier command of its key."""
    origin: Origin = origin_of(rec)
    skip = {DUE_HEADER, TIER_HEADER, FOLLOWED_HEADER}
    kept_errors = tuple(
        (k, v) for k, v in rec.headers if k.startswith(ERROR_HEADER_PREFIXES) and k not in skip
    )
    plain = tuple((k, v) for k, v in rec.headers if not k.startswith(ERROR_HEADER_PREFIXES))
    coords: Headers = ()
    if not kept_errors:
        coords = (
            (P + "topic", origin.topic.encode()),
            (P + "partition", str(origin.partition).encode()),
            (P + "offset", str(origin.offset).encode()),
            (Q + "original.timestamp", str(origin.timestamp_ms).encode()),
            (Q + "attempts", str(previous_attempts(rec)).encode()),
        )
    headers = (*plain, *kept_errors, *coords, *_retry_marks(due, tier), (FOLLOWED_HEADER, b"true"))
    return OutRecord(topic, rec.key, rec.value, headers, rec.partition)
