"""Stripe-Signature verification as Stripe specifies, and exact money from minor units."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import SecretStr

from engine.connectors.protocol import AuthError, NativeRequest
from engine.connectors.registry import load_mappings, translate_request
from engine.connectors.settings import ConnectorSettings
from engine.connectors.stripe.inbound import StripeInbound, sign, verify_signature
from engine.contracts import InvoiceIssued, PaymentFailed
from tests.connector_cases import FIXTURES

BODY = (FIXTURES / "stripe" / "invoice.finalized.json").read_bytes()
NOW = 1_764_590_400
OLD, NEW = "whsec_old_secret", "whsec_new_secret"


def _request(header: str | None, body: bytes = BODY) -> NativeRequest:
    headers = {"content-type": "application/json"}
    if header is not None:
        headers["stripe-signature"] = header
    return NativeRequest("stripe", "stripe", body, headers, datetime.fromtimestamp(NOW, UTC))


def _auth(header: str | None, secrets: str = OLD, body: bytes = BODY) -> str:
    settings = ConnectorSettings(stripe_endpoint_secrets=SecretStr(secrets))
    return StripeInbound().authenticate(
        _request(header, body), settings, datetime.fromtimestamp(NOW, UTC)
    )


def test_a_correct_signature_is_accepted() -> None:
    assert _auth(sign(BODY, OLD, NOW)) == "default"


def test_the_signature_covers_the_raw_bytes() -> None:
    reformatted = BODY.replace(b'"object": "event"', b'"object":"event"')
    with pytest.raises(AuthError) as err:
        _auth(sign(BODY, OLD, NOW), body=reformatted)
    assert err.value.reason == "bad-signature"


def test_any_of_several_v1_values_matches_during_rotation() -> None:
    # Stripe signs with both the expiring and the new secret while a rotation is under way.
    header = sign(BODY, NEW, NOW) + ",v1=" + sign(BODY, OLD, NOW).split("v1=")[1]
    assert _auth(header, secrets=OLD) == "default"
    assert _auth(sign(BODY, NEW, NOW), secrets=f"{OLD},{NEW}") == "default"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing-signature"),
        ("t=1764590400", "bad-signature"),
        ("v1=abc", "bad-signature"),
        (sign(BODY, "whsec_someone_else", NOW), "bad-signature"),
        (sign(BODY, OLD, NOW - 301), "stale-timestamp"),
        (sign(BODY, OLD, NOW + 301), "stale-timestamp"),
    ],
)
def test_refusals_name_their_reason(header: str | None, reason: str) -> None:
    with pytest.raises(AuthError) as err:
        _auth(header)
    assert err.value.reason == reason


def test_tolerance_is_300_seconds_by_default() -> None:
    assert _auth(sign(BODY, OLD, NOW - 300)) == "default"


def test_no_secret_configured_refuses_everything() -> None:
    with pytest.raises(AuthError) as err:
        verify_signature(BODY, sign(BODY, OLD, NOW), [], NOW, 300)
    assert err.value.reason == "not-configured"


def test_money_is_exact_from_minor_units() -> None:
    mappings = load_mappings(ConnectorSettings())
    issued = translate_request(_request(None), mappings)
    assert isinstance(issued, list) and isinstance(issued[0], InvoiceIssued)
    assert issued[0].invoice.total.amount == Decimal("12500.50")
    assert [line.amount.amount for line in issued[0].invoice.lines] == [
        Decimal("10000"),
        Decimal("2500.50"),
    ]
    failed_body = (FIXTURES / "stripe" / "invoice.payment_failed.json").read_bytes()
    failed = translate_request(_request(None, failed_body), mappings)
    assert isinstance(failed, list) and isinstance(failed[0], PaymentFailed)
    # JPY has no minor unit: 150000 is 150000 yen, not 1500.
    assert failed[0].amount_due.amount == Decimal("150000")
