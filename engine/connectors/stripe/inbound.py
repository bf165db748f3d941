"""Stripe Billing webhooks: `Stripe-Signature` verified exactly as Stripe specifies.

Signature scheme (stripe-python `stripe/_webhook.py`, https://docs.stripe.com/webhooks#verify-manually):
the header is `t=<unix seconds>,v1=<hex>[,v1=<hex>...]`; the expected value is
HMAC-SHA256(endpoint secret, `"<t>.<raw body>"`) in hex; the request is authentic when any `v1`
equals the expected value of any configured endpoint secret (several during a secret
rotation) and `t` is within the tolerance (300 s by default). Computed over the raw bytes:
re-serialised JSON would not match.
"""

from __future__ import annotations

from engine.connectors.auth import (
    TimestampedHmacAuthenticated,
    sign_timestamped,
    verify_timestamped_hmac,
)
from engine.connectors.common import STORED, json_object, text_field
from engine.connectors.protocol import (
    Acknowledgement,
    NativeEvent,
    NativeRequest,
    Route,
)

SIGNATURE_HEADER = "stripe-signature"


def verify_signature(
    body: bytes, header: str | None, secrets: list[str], now_s: float, tolerance_s: int
) -> None:
    """Raise AuthError unless `header` signs `body` with one of `secrets` within tolerance."""
    verify_timestamped_hmac(
        body,
        header,
        secrets,
        now_s,
        tolerance_s,
        name="Stripe-Signature",
        setting="Q2C_CONNECTOR_STRIPE_ENDPOINT_SECRETS",
    )


sign = sign_timestamped


class StripeInbound(TimestampedHmacAuthenticated):
    """Stripe webhook events (`POST /ingest/stripe`)."""

    platform = "stripe"
    routes = (Route("stripe", "Stripe webhook endpoint; Stripe-Signature verified"),)

    signature_header = SIGNATURE_HEADER
    signature_name = "Stripe-Signature"
    secrets_setting = "stripe_endpoint_secrets"
    tolerance_setting = "stripe_tolerance_s"

    def split(self, request: NativeRequest) -> list[NativeEvent]:
        doc = json_object(request)
        # Stripe's own identity of the event: redeliveries carry the same `evt_...` id.
        return [NativeEvent(self.platform, text_field(doc, "type"), text_field(doc, "id"), doc)]

    def acknowledgement(self, request: NativeRequest) -> Acknowledgement:
        return STORED
