"""Authenticity checks shared by the connectors (pure): HMAC signatures, static keys, bearers.

Every comparison of a secret-derived value is constant-time (`hmac.compare_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

from engine.connectors.protocol import AuthError


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def any_matches(candidates: Sequence[str], expected: Sequence[str]) -> bool:
    """Whether any candidate equals any expected value, every pair compared in constant time."""
    found = False
    for candidate in candidates:
        for value in expected:
            # No early exit: the time taken does not tell which pair matched.
            found |= hmac.compare_digest(candidate.encode(), value.encode())
    return found


def require_configured(secrets: Sequence[str], setting: str) -> None:
    if not secrets:
        raise AuthError("not-configured", f"{setting} is not set: every request is refused")


def check_bearer(headers: Mapping[str, str], tokens: Sequence[str], setting: str) -> None:
    """`Authorization: Bearer <token>` with one of `tokens`."""
    require_configured(tokens, setting)
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthError("missing-credentials", "no bearer token")
    if not any_matches([token.strip()], tokens):
        raise AuthError("bad-credentials", "unknown bearer token")


def check_timestamp(timestamp: int, now_s: float, tolerance_s: int) -> None:
    if abs(now_s - timestamp) > tolerance_s:
        raise AuthError("stale-timestamp", f"timestamp outside the {tolerance_s} s tolerance")
