"""Authenticity checks shared by the connectors (pure): HMAC signatures, static keys, bearers.

Every comparison of a secret-derived value is constant-time (`hmac.compare_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from engine.connectors.protocol import AuthError

if TYPE_CHECKING:
    from engine.connectors.protocol import NativeRequest
    from engine.connectors.settings import ConnectorSettings


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


class BearerAuthenticated:
    """Inbound connectors whose platform sends a bearer token (SAP Event Mesh, Oracle OIC):
    the token is the whole check, so it is done before the body is read.

    `token_setting` names the `ConnectorSettings` field holding the accepted tokens.
    """

    token_setting: ClassVar[str]

    def precheck(self, request: NativeRequest, settings: ConnectorSettings, now: datetime) -> None:
        check_bearer(
            request.headers,
            settings.secret_list(getattr(settings, self.token_setting)),
            f"Q2C_CONNECTOR_{self.token_setting.upper()}",
        )

    def authenticate(
        self, request: NativeRequest, settings: ConnectorSettings, now: datetime
    ) -> str:
        self.precheck(request, settings, now)
        return settings.tenant


def check_timestamp(timestamp: int, now_s: float, tolerance_s: int) -> None:
    if abs(now_s - timestamp) > tolerance_s:
        raise AuthError("stale-timestamp", f"timestamp outside the {tolerance_s} s tolerance")


def parse_timestamped_signature(header: str, name: str) -> tuple[int, list[str]]:
    """(timestamp, every v1 signature) of a `t=<unix>,v1=<hex>[,v1=<hex>...]` header."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None:
        raise AuthError("bad-signature", f"{name} has no timestamp")
    if not signatures:
        raise AuthError("bad-signature", f"{name} has no v1 signature")
    return timestamp, signatures


def _present(header: str | None, secrets: Sequence[str], name: str, setting: str) -> str:
    """The signature header, once secrets are configured and the header was sent."""
    require_configured(secrets, setting)
    if not header:
        raise AuthError("missing-signature", f"no {name} header")
    return header


def precheck_timestamped(
    header: str | None,
    secrets: Sequence[str],
    now_s: float,
    tolerance_s: int,
    *,
    name: str,
    setting: str,
) -> None:
    """What can be refused before the body is read: no secret, no header, a stale timestamp."""
    timestamp, _ = parse_timestamped_signature(_present(header, secrets, name, setting), name)
    check_timestamp(timestamp, now_s, tolerance_s)


def verify_timestamped_hmac(
    body: bytes,
    header: str | None,
    secrets: Sequence[str],
    now_s: float,
    tolerance_s: int,
    *,
    name: str,
    setting: str,
) -> None:
    """Stripe's scheme: any `v1` = HMAC-SHA256(any secret, `"<t>.<raw body>"`), `t` recent.

    The signature is checked before the timestamp, as Stripe's SDK does: a stale but
    authentic request is a replay, a bad signature a forgery; they are counted apart.
    """
    timestamp, signatures = parse_timestamped_signature(
        _present(header, secrets, name, setting), name
    )
    signed = str(timestamp).encode() + b"." + body
    expected = [hmac_sha256_hex(secret, signed) for secret in secrets]
    if not any_matches(signatures, expected):
        raise AuthError("bad-signature", f"no v1 signature in {name} matches a secret")
    check_timestamp(timestamp, now_s, tolerance_s)


class TimestampedHmacAuthenticated:
    """Inbound connectors signed with the `t=<unix s>,v1=<hex>` HMAC-SHA256 scheme (Stripe, and
    the q2c NetSuite script, which follows it): the timestamp is refused before the body is
    read, the signature over `"<t>.<raw body>"` after.

    Class attributes: the request header (lower case) and its display name, and the
    `ConnectorSettings` fields with the accepted secrets and the tolerance in seconds.
    """

    signature_header: ClassVar[str]
    signature_name: ClassVar[str]
    secrets_setting: ClassVar[str]
    tolerance_setting: ClassVar[str]

    def _check(
        self, request: NativeRequest, settings: ConnectorSettings, now: datetime, *, body: bool
    ) -> None:
        secrets = settings.secret_list(getattr(settings, self.secrets_setting))
        header = request.headers.get(self.signature_header)
        tolerance: int = getattr(settings, self.tolerance_setting)
        setting = f"Q2C_CONNECTOR_{self.secrets_setting.upper()}"
        args = (header, secrets, now.timestamp(), tolerance)
        name = self.signature_name
        if body:
            verify_timestamped_hmac(request.body, *args, name=name, setting=setting)
        else:
            precheck_timestamped(*args, name=name, setting=setting)

    def precheck(self, request: NativeRequest, settings: ConnectorSettings, now: datetime) -> None:
        self._check(request, settings, now, body=False)

    def authenticate(
        self, request: NativeRequest, settings: ConnectorSettings, now: datetime
    ) -> str:
        self._check(request, settings, now, body=True)
        return settings.tenant


def sign_timestamped(body: bytes, secret: str, timestamp: int) -> str:
    """A `t=...,v1=...` signature header for `body` (tests, simulated platforms)."""
    signed = str(timestamp).encode() + b"." + body
    return f"t={timestamp},v1={hmac_sha256_hex(secret, signed)}"
