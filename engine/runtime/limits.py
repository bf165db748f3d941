"""The size limit every record the engine writes must respect.

Kafka refuses a record over the producer's max_request_size or the broker's message.max.bytes
(1 MiB by default), and a refused record fails every retry of its transaction: the partition
would stall. Records are checked before they are written, so the event that would produce one
is dead-lettered instead.
"""

from __future__ import annotations

# Below the 1 MiB defaults, with room for headers.
MAX_RECORD_BYTES = 1_000_000


class RecordTooLarge(Exception):
    """A record over `MAX_RECORD_BYTES` (the message names sizes only: safe to log)."""

    message_is_safe = True


def check_size(what: str, value: bytes, key: bytes | None = None) -> None:
    """Raise `RecordTooLarge` when key plus value exceed the limit."""
    size = len(value) + len(key or b"")
    if size > MAX_RECORD_BYTES:
        raise RecordTooLarge(f"{what} would be {size:,} bytes, over the {MAX_RECORD_BYTES:,} limit")
