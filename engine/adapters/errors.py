"""Classifies handler failures (pure): retry later, or dead-letter at once.

Adapter authors raise `TransientError` for "try again, the target may recover" (HTTP 503, a
rate limit, a lock timeout) and `PermanentError` for "this command can never succeed as is"
(a 422 from the target). Timeouts and connection errors count as transient without wrapping.
Anything else is a bug in the handler: retrying a bug only delays the dead letter, so it is
dead-lettered at once, like an undecodable record.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum

from engine.codec import DecodeError


class TransientError(Exception):
    """The target is unavailable or overloaded; the same command may succeed later."""

    message_is_safe = True  # adapters raise it with their own wording, not payload text


class PermanentError(Exception):
    """The target rejected the command for good; retrying cannot help."""

    message_is_safe = True


class Disposition(StrEnum):
    """What the runner does with a failed command."""

    RETRY = "retry"
    DEAD_LETTER = "dead-letter"


# ConnectionError covers refused/reset/aborted sockets; TimeoutError includes asyncio's (3.11+).
_TRANSIENT: tuple[type[BaseException], ...] = (
    TransientError,
    TimeoutError,
    asyncio.TimeoutError,
    ConnectionError,
)


def classify(exc: BaseException) -> Disposition:
    """RETRY for transient failures, DEAD_LETTER for everything else (permanent or a bug)."""
    if isinstance(exc, PermanentError | DecodeError):
        return Disposition.DEAD_LETTER
    if isinstance(exc, _TRANSIENT):
        return Disposition.RETRY
    return Disposition.DEAD_LETTER


def is_bug(exc: BaseException) -> bool:
    """Neither transient nor a declared rejection: the handler itself went wrong."""
    return not isinstance(exc, PermanentError | DecodeError) and not is_transient(exc)


def is_transient(exc: BaseException) -> bool:
    """Predicate form of `classify` (for tenacity's `retry_if_exception`)."""
    return classify(exc) is Disposition.RETRY
