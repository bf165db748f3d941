"""Turns a platform's HTTP error reply into the adapter toolkit's transient/permanent errors (pure).

Each platform signals rate limits its own way (platforms.md): 429 + Retry-After (Dataverse,
Stripe, and NetSuite's REST API), Salesforce's 403 `REQUEST_LIMIT_EXCEEDED`, NetSuite's 400
`SSS_REQUEST_LIMIT_EXCEEDED`. Those, 5xx replies and 409 conflicts are transient: the command
moves through the retry tiers. Other 4xx replies are permanent and dead-letter with the
platform's error code and field path. The platform's message text is never copied, because
platforms echo submitted values in it ("No such customer: 'cus_…'") and a dead letter must not
carry payload values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.adapters.errors import PermanentError, TransientError

RATE_LIMIT_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "SSS_REQUEST_LIMIT_EXCEEDED"})
# Dataverse's service-protection error numbers (requests, execution time, concurrency).
DATAVERSE_LIMIT_CODES = frozenset({"0x80072322", "0x80072321", "0x80072326"})


class PlatformError(TransientError):
    """Base of the transient platform errors (5xx, timeouts, conflicts)."""


class RateLimited(PlatformError):
    """The platform refused the request for its rate or concurrency limit."""

    def __init__(self, message: str, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class CircuitOpen(PlatformError):
    """The circuit breaker of the target is open: the request was not sent."""


class Rejected(PermanentError):
    """The platform rejected the request for good (validation, not found, forbidden)."""

    def __init__(self, message: str, status: int, code: str | None, path: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.path = path


@dataclass(frozen=True)
class ErrorDetail:
    """The parts of an error body that are safe to log: a code and a field path."""

    code: str | None = None
    path: str | None = None


def _first(items: Any) -> Mapping[str, Any]:
    if isinstance(items, list) and items and isinstance(items[0], Mapping):
        return items[0]
    return {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def detail_of(body: Any) -> ErrorDetail:
    """Code and path from any of the platforms' error shapes (unknown shapes give neither).

    - Salesforce: `[{"errorCode", "fields": [...]}]`
    - NetSuite, Oracle: `{"o:errorDetails": [{"o:errorCode", "o:errorPath"}]}`
    - Dataverse, SAP OData V2/V4: `{"error": {"code", "target"?}}`
    - Stripe: `{"error": {"type", "code"?, "param"?}}`
    """
    if isinstance(body, list):
        first = _first(body)
        fields = first.get("fields")
        names = [f for f in fields if isinstance(f, str)] if isinstance(fields, list) else []
        return ErrorDetail(_text(first.get("errorCode")), ",".join(names) or None)
    if not isinstance(body, Mapping):
        return ErrorDetail()
    if "o:errorDetails" in body:
        first = _first(body["o:errorDetails"])
        return ErrorDetail(_text(first.get("o:errorCode")), _text(first.get("o:errorPath")))
    error = body.get("error")
    if isinstance(error, Mapping):
        code = _text(error.get("code")) or _text(error.get("type"))
        path = _text(error.get("param")) or _text(error.get("target"))
        return ErrorDetail(code, path)
    return ErrorDetail()


def parse_body(content: bytes) -> Any:
    """The JSON body of a reply, or None when it is not JSON."""
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


def retry_after_of(headers: Mapping[str, str]) -> float | None:
    """Seconds from a `Retry-After` header (the delta-seconds form; dates are ignored)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds)


def error_for(
    platform: str, status: int, headers: Mapping[str, str], body: Any
) -> Exception | None:
    """The exception a reply stands for, or None for a success (2xx/3xx)."""
    if status < 400:
        return None
    detail = detail_of(body)
    where = f" at {detail.path}" if detail.path else ""
    what = f"{platform} HTTP {status} {detail.code or 'error'}{where}"
    if status == 429 or detail.code in RATE_LIMIT_CODES or detail.code in DATAVERSE_LIMIT_CODES:
        return RateLimited(f"{what} (rate limit)", retry_after_of(headers))
    if status >= 500 or status in (408, 409):
        # Stripe tells whether a retry can help; with an idempotency key a 500 is replayed.
        if headers.get("stripe-should-retry") == "false":
            return Rejected(what, status, detail.code, detail.path)
        return PlatformError(what)
    return Rejected(what, status, detail.code, detail.path)
