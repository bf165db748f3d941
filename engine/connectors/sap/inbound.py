"""SAP S/4HANA business events: CloudEvents 1.0 over HTTP, as Event Mesh webhook push sends them.

`POST /ingest/sap`, bearer token (the webhook subscription's OAuth2 client-credentials token
or a static one configured for it). Both CloudEvents HTTP content modes
(https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md):
structured (`Content-Type: application/cloudevents+json`, the whole event in the body) and
binary (attributes in `ce-*` headers, the body is `data`). Event Mesh validates a webhook
with the CloudEvents webhook handshake (`OPTIONS` + `WebHook-Request-Origin`, answered with
`WebHook-Allowed-Origin`: https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/http-webhook.md#4-abuse-protection),
served by the gateway. Delivery identity: `source` + `id` (CAP messaging docs). The document
a mapping reads is the structured form: `{specversion, type, source, id, time, data, ...}`.
"""

from __future__ import annotations

from typing import Any

from engine.connectors.auth import BearerAuthenticated
from engine.connectors.common import STORED, json_body, json_object, text_field
from engine.connectors.protocol import (
    Acknowledgement,
    NativeEvent,
    NativeRequest,
    ParseError,
    Route,
)

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
CE = "ce-"


def _binary_event(request: NativeRequest) -> dict[str, Any]:
    attributes = {k[len(CE) :]: v for k, v in request.headers.items() if k.startswith(CE)}
    if "specversion" not in attributes:
        raise ParseError("neither a structured CloudEvent nor ce-* headers", "ce-specversion")
    data: Any = json_body(request) if request.body else None
    return {**attributes, "datacontenttype": request.content_type or None, "data": data}


def _native(event: Any, where: str) -> NativeEvent:
    if not isinstance(event, dict):
        raise ParseError("a CloudEvent is a JSON object", where)
    if event.get("specversion") != "1.0":
        raise ParseError("only CloudEvents specversion 1.0 is supported", f"{where}specversion")
    source, ident = text_field(event, "source"), text_field(event, "id")
    return NativeEvent("sap", text_field(event, "type"), f"{source}#{ident}", event)


class SapInbound(BearerAuthenticated):
    """SAP S/4HANA business events (CloudEvents)."""

    platform = "sap"
    routes = (Route("sap", "CloudEvents 1.0 (structured, batch or binary mode), bearer token"),)

    token_setting = "sap_bearer_token"

    def split(self, request: NativeRequest) -> list[NativeEvent]:
        if request.content_type == STRUCTURED:
            return [_native(json_object(request), "")]
        if request.content_type == BATCH:
            batch = json_body(request)
            if not isinstance(batch, list):
                raise ParseError("a CloudEvents batch is a JSON array")
            return [_native(e, f"[{i}].") for i, e in enumerate(batch)]
        return [_native(_binary_event(request), "")]

    def acknowledgement(self, request: NativeRequest) -> Acknowledgement:
        return STORED
