"""Salesforce authenticity: the Outbound Message org id, the SOAP Ack, the relay's bearer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from engine.connectors.protocol import AuthError, NativeRequest
from engine.connectors.salesforce.inbound import ACK, CDC_ROUTE, OM_ROUTE, SalesforceInbound
from engine.connectors.settings import ConnectorSettings
from engine.connectors.xmldoc import find, parse_xml
from tests.connector_cases import FIXTURES

NOW = datetime(2026, 12, 1, tzinfo=UTC)
OM = (FIXTURES / "salesforce" / "outbound-message.xml").read_bytes()
CDC = (FIXTURES / "salesforce" / "opportunity-lost.cdc.json").read_bytes()
SF = SalesforceInbound()


def _om(org: str | None, body: bytes = OM) -> str:
    request = NativeRequest("salesforce", OM_ROUTE, body, {"content-type": "text/xml"}, NOW)
    return SF.authenticate(request, ConnectorSettings(salesforce_organization_id=org), NOW)


def test_outbound_message_from_the_configured_org_is_accepted() -> None:
    assert _om("00D5g000004Q2cAEAS") == "00D5g000004Q2cAEAS"
    assert _om("00D5g000004Q2cA") == "00D5g000004Q2cA"  # the 15-character form


@pytest.mark.parametrize(
    ("org", "body", "reason"),
    [
        ("00D5g000009OtherAA", OM, "bad-credentials"),
        (None, OM, "not-configured"),
        ("00D5g000004Q2cAEAS", b"<notxml", "bad-credentials"),
        ("00D5g000004Q2cAEAS", b'<?xml version="1.0" encoding="U-F-8"?><a/>', "bad-credentials"),
        ("00D5g000004Q2cAEAS", b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "bad-credentials"),
    ],
)
def test_outbound_message_refusals(org: str | None, body: bytes, reason: str) -> None:
    with pytest.raises(AuthError) as err:
        _om(org, body)
    assert err.value.reason == reason


def test_the_ack_is_the_soap_response_salesforce_expects() -> None:
    request = NativeRequest("salesforce", OM_ROUTE, OM, {}, NOW)
    ack = SF.acknowledgement(request)
    assert ack.body == ACK and ack.media_type == "text/xml"
    response = find(parse_xml(ack.body), "notificationsResponse")
    assert response is not None and find(response, "Ack") is not None
    assert (find(response, "Ack").text or "") == "true"  # type: ignore[union-attr]


def test_several_notifications_are_several_native_events() -> None:
    request = NativeRequest("salesforce", OM_ROUTE, OM, {}, NOW)
    events = SF.split(request)
    assert [e.delivery_id for e in events] == [
        "om:04l5g00000Q2cN1AAJ",
        "om:04l5g00000Q2cN2AAJ",
        "om:04l5g00000Q2cN3AAJ",
    ]
    assert {e.kind for e in events} == {"outbound/Opportunity"}


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing-credentials"),
        ("Bearer wrong-token", "bad-credentials"),
        ("Basic cmVsYXk=", "missing-credentials"),
    ],
)
def test_the_cdc_relay_needs_its_bearer_token(header: str | None, reason: str) -> None:
    headers = {} if header is None else {"authorization": header}
    request = NativeRequest("salesforce", CDC_ROUTE, CDC, headers, NOW)
    settings = ConnectorSettings(salesforce_relay_token=SecretStr("relay-token"))
    with pytest.raises(AuthError) as err:
        SF.authenticate(request, settings, NOW)
    assert err.value.reason == reason
    ok = NativeRequest("salesforce", CDC_ROUTE, CDC, {"authorization": "Bearer relay-token"}, NOW)
    assert SF.authenticate(ok, settings, NOW) == "default"


def test_certinia_objects_use_the_certinia_mapping() -> None:
    body = (FIXTURES / "certinia" / "project-created.cdc.json").read_bytes()
    request = NativeRequest("salesforce", CDC_ROUTE, body, {}, NOW)
    assert [e.mapping_name for e in SF.split(request)] == ["certinia"]
    assert [
        e.mapping_name for e in SF.split(NativeRequest("salesforce", CDC_ROUTE, CDC, {}, NOW))
    ] == ["salesforce"]
