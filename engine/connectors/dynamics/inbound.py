"""Dynamics 365 / Dataverse webhooks: `RemoteExecutionContext` JSON (`POST /ingest/dynamics`).

Source: https://github.com/MicrosoftDocs/powerapps-docs/blob/main/powerapps-docs/developer/data-platform/use-webhooks.md
Dataverse signs nothing: a webhook authenticates with a static key, sent as the `code` query
parameter (WebhookKey) or as a header (HttpHeader; q2c reads `x-q2c-webhook-key`). The key
is compared in constant time and the context's `OrganizationId` must be the configured org.
Above 256 KB Dataverse sends `x-ms-dynamics-msg-size-exceeded` and strips `InputParameters`,
`ParentContext` and the entity images: such a context is recorded as unmapped, never guessed.
Delivery identity: `OperationId` + `MessageName` (the one retry on 502/503/504 repeats both).
The document a mapping reads is the context plus `headers` (the x-ms-dynamics-* headers).
"""

from __future__ import annotations

from datetime import datetime

from engine.connectors.auth import any_matches, require_configured
from engine.connectors.common import STORED, json_object, text_field
from engine.connectors.native import kept_headers
from engine.connectors.protocol import (
    Acknowledgement,
    AuthError,
    NativeEvent,
    NativeRequest,
    ParseError,
    Route,
)
from engine.connectors.settings import ConnectorSettings

KEY_HEADER = "x-q2c-webhook-key"
SIZE_EXCEEDED = "x-ms-dynamics-msg-size-exceeded"


class DynamicsInbound:
    """Dataverse webhook steps (Win, Lose, Update on opportunity, ...)."""

    platform = "dynamics"
    routes = (Route("dynamics", "Dataverse webhook (WebhookKey `code` or HttpHeader key)"),)

    def precheck(self, request: NativeRequest, settings: ConnectorSettings, now: datetime) -> None:
        keys = settings.secret_list(settings.dynamics_webhook_key)
        require_configured(keys, "Q2C_CONNECTOR_DYNAMICS_WEBHOOK_KEY")
        given = request.query.get("code") or request.headers.get(KEY_HEADER)
        if not given:
            raise AuthError("missing-credentials", "no webhook key (code or x-q2c-webhook-key)")
        if not any_matches([given], keys):
            raise AuthError("bad-credentials", "unknown webhook key")

    def authenticate(
        self, request: NativeRequest, settings: ConnectorSettings, now: datetime
    ) -> str:
        self.precheck(request, settings, now)
        expected = settings.dynamics_organization_id
        if not expected:
            raise AuthError("not-configured", "Q2C_CONNECTOR_DYNAMICS_ORGANIZATION_ID is not set")
        try:
            org = text_field(json_object(request), "OrganizationId")
        except ParseError:
            raise AuthError("bad-credentials", "no OrganizationId in the context") from None
        if org.strip("{}").lower() != expected.strip("{}").lower():
            raise AuthError("bad-credentials", "OrganizationId is not the configured org")
        return expected

    def split(self, request: NativeRequest) -> list[NativeEvent]:
        context = json_object(request)
        operation = text_field(context, "OperationId")
        message = text_field(context, "MessageName")
        doc = {**context, "headers": kept_headers(dict(request.headers))}
        if SIZE_EXCEEDED in request.headers:
            doc["headers"][SIZE_EXCEEDED] = request.headers[SIZE_EXCEEDED] or "true"
        return [NativeEvent(self.platform, message, f"{operation}:{message}", doc)]

    def acknowledgement(self, request: NativeRequest) -> Acknowledgement:
        return STORED
