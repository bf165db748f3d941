"""Stripe Billing webhooks: `Stripe-Signature` verified exactly as Stripe specifies.

Signature scheme (stripe-python `stripe/_webhook.py`, https://docs.stripe.com/webhooks#verify-manually):
the header is `t=<unix seconds>,v1=<hex>[,v1=<hex>...]`; the expected value is
HMAC-SHA256(endpoint secret, `"<t>.<raw body>"`) in hex; the request is authentic when any `v1`
equals the expected value of any configured endpoint secret (several during a secret
rotation) and `t` is within the tolerance (300 s by default). Computed over the raw bytes:
re-serialised JSON would not match.
"""

from __future__ import annotations

from datetime import datetime

from engine.connectors.auth import any_matches, check_timestamp, hmac_sha256_hex, require_configured
from engine.connectors.common import default_acknowledgement, json_object, text_field
from engine.connectors.protocol import (
    Acknowledgement,
    AuthError,
    NativeEvent,
    NativeRequest,
    Route,
)
from engine.connectors.settings import ConnectorSettings

SIGNATURE_HEADER = "stripe-signature"


def parse_signature_header(header: str) -> tuple[int, list[str]]:
    """(timestamp, every v1 signature) of a Stripe-Signature header."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None:
        raise AuthError("bad-signature", "Stripe-Signature has no timestamp")
    if not signatures:
        raise AuthError("bad-signature", "Stripe-Signature has no v1 signature")
    return timestamp, signatures


def verify_signature(
    body: bytes, header: str | None, secrets: list[str], now_s: float, tolerance_s: int
) -> None:
    """Raise AuthError unless `header` signs `body` with one of `secrets` within tolerance."""
    require_configured(secrets, "Q2C_CONNECTOR_STRIPE_ENDPOINT_SECRETS")
    if not header:
        raise AuthError("missing-signature", "no Stripe-Signature header")
    timestamp, signatures = parse_signature_header(header)
    signed = str(timestamp).encode() + b"." + body
    expected = [hmac_sha256_hex(secret, signed) for secret in secrets]
    if not any_matches(signatures, expected):
        raise AuthError("bad-signature", "no v1 signature matches an endpoint secret")
    # Checked after the signature, as Stripe's SDK does: a stale but authentic request is a
    # replay, a bad signature is a forgery; the two are counted apart.
    check_timestamp(timestamp, now_s, tolerance_s)


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """A Stripe-Signature header for `body` (tests, the demo's simulated Stripe)."""
    signed = str(timestamp).encode() + b"." + body
    return f"t={timestamp},v1={hmac_sha256_hex(secret, signed)}"


class StripeInbound:
    """Stripe webhook events (`POST /ingest/stripe`)."""

    platform = "stripe"
    routes = (Route("stripe", "Stripe webhook endpoint; Stripe-Signature verified"),)

    def authenticate(
        self, request: NativeRequest, settings: ConnectorSettings, now: datetime
    ) -> str:
        verify_signature(
            request.body,
            request.headers.get(SIGNATURE_HEADER),
            settings.secret_list(settings.stripe_endpoint_secrets),
            now.timestamp(),
            settings.stripe_tolerance_s,
        )
        return settings.tenant

    def split(self, request: NativeRequest) -> list[NativeEvent]:
        doc = json_object(request)
        # Stripe's own identity of the event: redeliveries carry the same `evt_...` id.
        return [NativeEvent(self.platform, text_field(doc, "type"), text_field(doc, "id"), doc)]

    def acknowledgement(self, request: NativeRequest) -> Acknowledgement:
        return default_acknowledgement(request)
