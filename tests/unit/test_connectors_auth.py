"""Authenticity per platform: Dynamics' static key and org, NetSuite's HMAC, SAP/Oracle bearers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from engine.connectors.auth import sign_timestamped
from engine.connectors.protocol import AuthError, NativeRequest
from engine.connectors.registry import CONNECTORS
from engine.connectors.settings import ConnectorSettings
from tests.connector_cases import FIXTURES

NOW = datetime(2026, 12, 1, tzinfo=UTC)
ORG = "b2a6e3f0-1d2c-4e5f-8a9b-0c1d2e3f4a5b"
WIN = (FIXTURES / "dynamics" / "win.json").read_bytes()
JOB = (FIXTURES / "netsuite" / "job-created.json").read_bytes()
SETTINGS = ConnectorSettings(
    dynamics_webhook_key=SecretStr("dyn-key"),
    dynamics_organization_id=ORG.upper(),
    netsuite_hmac_secret=SecretStr("ns-old,ns-new"),
    sap_bearer_token=SecretStr("sap-token"),
    oracle_bearer_token=SecretStr("oic-token"),
)


def _auth(
    platform: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    settings: ConnectorSettings = SETTINGS,
) -> str:
    request = NativeRequest(platform, platform, body, headers or {}, NOW, query or {})
    return CONNECTORS[platform].authenticate(request, settings, NOW)


def _reason(*args: object, **kwargs: object) -> str:
    with pytest.raises(AuthError) as err:
        _auth(*args, **kwargs)  # type: ignore[arg-type]
    return err.value.reason


def test_dynamics_accepts_the_key_by_query_or_header_and_checks_the_org() -> None:
    assert _auth("dynamics", WIN, query={"code": "dyn-key"}) == ORG.upper()
    assert _auth("dynamics", WIN, headers={"x-q2c-webhook-key": "dyn-key"}) == ORG.upper()
    assert _reason("dynamics", WIN, query={"code": "other"}) == "bad-credentials"
    assert _reason("dynamics", WIN) == "missing-credentials"
    other_org = WIN.replace(ORG.encode(), b"00000000-0000-0000-0000-000000000000")
    assert _reason("dynamics", other_org, query={"code": "dyn-key"}) == "bad-credentials"
    unset = ConnectorSettings(dynamics_webhook_key=SecretStr("dyn-key"))
    assert _reason("dynamics", WIN, query={"code": "dyn-key"}, settings=unset) == "not-configured"


def test_netsuite_signature_with_either_rotated_secret() -> None:
    ts = int(NOW.timestamp())
    for secret in ("ns-old", "ns-new"):
        header = {"x-q2c-signature": sign_timestamped(JOB, secret, ts)}
        assert _auth("netsuite", JOB, headers=header) == "default"
    forged = {"x-q2c-signature": sign_timestamped(JOB, "guess", ts)}
    assert _reason("netsuite", JOB, headers=forged) == "bad-signature"
    tampered = JOB.replace(b"deal-7", b"deal-8")
    signed = {"x-q2c-signature": sign_timestamped(JOB, "ns-old", ts)}
    assert _reason("netsuite", tampered, headers=signed) == "bad-signature"
    stale = {"x-q2c-signature": sign_timestamped(JOB, "ns-old", ts - 3600)}
    assert _reason("netsuite", JOB, headers=stale) == "stale-timestamp"


@pytest.mark.parametrize(("platform", "token"), [("sap", "sap-token"), ("oracle", "oic-token")])
def test_bearer_platforms(platform: str, token: str) -> None:
    assert _auth(platform, b"{}", headers={"authorization": f"Bearer {token}"}) == "default"
    assert _reason(platform, b"{}", headers={"authorization": "Bearer nope"}) == "bad-credentials"
    assert _reason(platform, b"{}") == "missing-credentials"
    assert _reason(platform, b"{}", settings=ConnectorSettings()) == "not-configured"
