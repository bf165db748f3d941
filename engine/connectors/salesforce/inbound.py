"""Salesforce: CDC and Platform Events as a Pub/Sub API relay forwards them, and Outbound Messages.

CDC / Platform Events (`POST /ingest/salesforce/cdc`, bearer token of the relay): the JSON
rendering of an event message, `{"channel": "/data/OpportunityChangeEvent", "data":
{"schema", "payload": {"ChangeEventHeader": {...}, <fields>}, "event": {"replayId"}}}`
(https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_message_structure.htm),
one message or a JSON array of them. The document a mapping reads is
`{"channel", "replay_id", "payload"}`. Delivery identity: the Platform Event's `EventUuid`,
else the change's `transactionKey` + `sequenceNumber`, else channel + replay id. CDC on
Certinia's `pse__` objects is translated with the Certinia mapping.

Outbound Messages (`POST /ingest/salesforce/outbound-message`): the SOAP `notifications`
envelope with up to 100 `Notification`s
(https://developer.salesforce.com/docs/platform/api/guide/sforce-api-om-outboundmessaging-wsdl.html).
Authenticity: its `OrganizationId` must be the configured org (Salesforce signs nothing; the
documented protections are the org id, IP allow-listing and TLS). Each notification's `Id` is
its delivery identity; Salesforce resends until it gets the SOAP `Ack`, which is returned
only after the request is stored. Document: `{"channel": "outbound/<sObject type>",
"OrganizationId", "ActionId", "sObject": {<fields>}}`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.connectors.auth import any_matches, check_bearer
from engine.connectors.common import STORED, json_body
from engine.connectors.protocol import (
    Acknowledgement,
    AuthError,
    NativeEvent,
    NativeRequest,
    ParseError,
    Route,
)
from engine.connectors.settings import ConnectorSettings
from engine.connectors.xmldoc import find, local, parse_xml, to_document

CDC_ROUTE = "salesforce/cdc"
OM_ROUTE = "salesforce/outbound-message"
CERTINIA_PREFIX = "pse__"
ACK = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body>"
    b'<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">'
    b"<Ack>true</Ack></notificationsResponse>"
    b"</soapenv:Body></soapenv:Envelope>"
)


def _cdc_event(message: Any, position: int) -> NativeEvent:
    where = f"[{position}]"
    if not isinstance(message, dict):
        raise ParseError("event message is not a JSON object", where)
    channel = message.get("channel")
    data = message.get("data")
    if not isinstance(channel, str) or not isinstance(data, dict):
        raise ParseError("event message needs channel and data", f"{where}.channel")
    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise ParseError("event message has no payload", f"{where}.data.payload")
    event = data.get("event") if isinstance(data.get("event"), dict) else {}
    replay_id = event.get("replayId") if isinstance(event, dict) else None
    header = payload.get("ChangeEventHeader")
    header = header if isinstance(header, dict) else {}
    if isinstance(payload.get("EventUuid"), str):
        delivery = f"uuid:{payload['EventUuid']}"
    elif header.get("transactionKey") is not None and header.get("sequenceNumber") is not None:
        delivery = f"txn:{header['transactionKey']}:{header['sequenceNumber']}"
    elif replay_id is not None:
        delivery = f"replay:{channel}:{replay_id}"
    else:
        raise ParseError("no delivery identity (EventUuid, transactionKey or replayId)", where)
    entity = header.get("entityName")
    mapping = "certinia" if isinstance(entity, str) and entity.startswith(CERTINIA_PREFIX) else ""
    doc = {"channel": channel, "replay_id": replay_id, "payload": payload}
    return NativeEvent("salesforce", channel, delivery, doc, mapping)


def _notifications(request: NativeRequest) -> tuple[str, list[NativeEvent]]:
    root = parse_xml(request.body)
    notifications = find(root, "notifications")
    if notifications is None:
        raise ParseError("no SOAP notifications element", "Envelope.Body.notifications")
    doc = to_document(notifications)
    if not isinstance(doc, dict):
        raise ParseError("empty notifications element", "notifications")
    org = doc.get("OrganizationId")
    items = doc.get("Notification")
    items = items if isinstance(items, list) else [items] if items is not None else []
    events = []
    for i, item in enumerate(items):
        where = f"notifications.Notification[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("Id"), str):
            raise ParseError("notification without Id", where)
        sobject = item.get("sObject")
        if not isinstance(sobject, dict):
            raise ParseError("notification without sObject", f"{where}.sObject")
        sobject_type = local(str(sobject.get("@type", ""))).rsplit(":", 1)[-1] or "unknown"
        channel = f"outbound/{sobject_type}"
        events.append(
            NativeEvent(
                "salesforce",
                channel,
                f"om:{item['Id']}",
                {
                    "channel": channel,
                    "OrganizationId": org,
                    "ActionId": doc.get("ActionId"),
                    "sObject": sobject,
                },
            )
        )
    return (org if isinstance(org, str) else ""), events


class SalesforceInbound:
    """Salesforce CDC / Platform Events (relay) and Outbound Messages."""

    platform = "salesforce"
    routes = (
        Route(CDC_ROUTE, "CDC and Platform Event JSON forwarded by a Pub/Sub API relay (bearer)"),
        Route(OM_ROUTE, "Outbound Message SOAP notifications (OrganizationId checked)"),
    )

    def precheck(self, request: NativeRequest, settings: ConnectorSettings, now: datetime) -> None:
        # An Outbound Message proves its origin only in its body (OrganizationId).
        if request.route != OM_ROUTE:
            self._check_relay(request, settings)

    def _check_relay(self, request: NativeRequest, settings: ConnectorSettings) -> None:
        check_bearer(
            request.headers,
            settings.secret_list(settings.salesforce_relay_token),
            "Q2C_CONNECTOR_SALESFORCE_RELAY_TOKEN",
        )

    def authenticate(
        self, request: NativeRequest, settings: ConnectorSettings, now: datetime
    ) -> str:
        if request.route == OM_ROUTE:
            expected = settings.salesforce_organization_id
            if not expected:
                raise AuthError(
                    "not-configured", "Q2C_CONNECTOR_SALESFORCE_ORGANIZATION_ID is not set"
                )
            try:
                org, _ = _notifications(request)
            except ParseError:
                raise AuthError("bad-credentials", "not an Outbound Message") from None
            # Salesforce sends the 18-character org id; accept the 15-character form too.
            if not any_matches([org[:15]], [expected[:15]]):
                raise AuthError("bad-credentials", "OrganizationId is not the configured org")
            return expected
        self._check_relay(request, settings)
        return settings.tenant

    def split(self, request: NativeRequest) -> list[NativeEvent]:
        if request.route == OM_ROUTE:
            return _notifications(request)[1]
        body = json_body(request)
        messages = body if isinstance(body, list) else [body]
        return [_cdc_event(m, i) for i, m in enumerate(messages)]

    def acknowledgement(self, request: NativeRequest) -> Acknowledgement:
        if request.route == OM_ROUTE:
            return Acknowledgement(ACK, "text/xml")
        return STORED
