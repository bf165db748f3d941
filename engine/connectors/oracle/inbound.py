"""Oracle Fusion (ERP Cloud) business events, forwarded by an Oracle Integration (OIC) flow.

ERP Cloud raises business events only towards OIC ("Receive Business Events raised within
ERP Cloud", https://docs.oracle.com/en/cloud/paas/integration-cloud/erp-adapter/trigger-request-page.html);
the q2c OIC flow forwards each event's XML payload (e.g. `ProjectStatusEventInfo` for Project
Status Changes, a milestone completion payload for Project Milestone Completion:
https://docs.oracle.com/en/cloud/saas/project-management/24d/oapex/public-events-for-project-execution-management.html)
to `POST /ingest/oracle` with a bearer token, adding `X-OIC-Event-Id` (the flow instance's
message id) and `X-OIC-Event-Time`. Receivables invoices and receipts raise no business
events: they are polled through the outbound Oracle client.

The document a mapping reads: `{"event": <root element name>, "payload": <root as a
document>, "headers": {x-oic-*}}`. Delivery identity: `X-OIC-Event-Id`, else the root name +
ProjectId + the new value + the event time (no delivery semantics are documented).
"""

from __future__ import annotations

from typing import Any

from engine.connectors.auth import BearerAuthenticated
from engine.connectors.common import STORED
from engine.connectors.mapping.paths import resolve
from engine.connectors.native import kept_headers
from engine.connectors.protocol import Acknowledgement, NativeEvent, NativeRequest, Route
from engine.connectors.xmldoc import local, parse_xml, to_document


def _delivery(event: str, payload: Any, headers: dict[str, str]) -> str:
    given = headers.get("x-oic-event-id")
    if given:
        return f"oic:{given}"
    parts = [
        event,
        resolve(payload, "ProjectId"),
        resolve(payload, "ProjectStatusCode.newValue.@value") or resolve(payload, "MilestoneId"),
        headers.get("x-oic-event-time"),
    ]
    return ":".join("" if p is None else str(p) for p in parts)


class OracleInbound(BearerAuthenticated):
    """Oracle Fusion PPM business events via OIC."""

    platform = "oracle"
    routes = (Route("oracle", "ERP Cloud business event XML forwarded by OIC, bearer token"),)

    token_setting = "oracle_bearer_token"

    def split(self, request: NativeRequest) -> list[NativeEvent]:
        root = parse_xml(request.body)
        event = local(root.tag)
        payload = to_document(root)
        headers = kept_headers(dict(request.headers))
        doc = {"event": event, "payload": payload, "headers": headers}
        return [NativeEvent(self.platform, event, _delivery(event, payload, headers), doc)]

    def acknowledgement(self, request: NativeRequest) -> Acknowledgement:
        return STORED
