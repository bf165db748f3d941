"""NetSuite: the JSON a q2c user-event script POSTs (`POST /ingest/netsuite`).

NetSuite has no record webhooks; `deploy/netsuite/q2c_user_event.js` (SuiteScript 2.1,
`afterSubmit` on job, timebill, expense report, invoice and customer payment) posts
`{eventId, account, recordType, recordId, eventType, occurredAt, changed[], record{...}}`
with `X-Q2C-Signature: t=<unix>,v1=<hex>`, HMAC-SHA256 over `"<t>.<raw body>"` with the
secret kept in a NetSuite API secret (the same scheme as Stripe's, so rotation works the same
way: several secrets, any match). Delivery identity: the script's `eventId` (record type +
id + event type + the record's last-modified time), so a retried POST repeats it.
"""

from __future__ import annotations

from engine.connectors.auth import TimestampedHmacAuthenticated
from engine.connectors.common import STORED, json_object, text_field
from engine.connectors.protocol import Acknowledgement, NativeEvent, NativeRequest, Route

SIGNATURE_HEADER = "x-q2c-signature"


class NetSuiteInbound(TimestampedHmacAuthenticated):
    """Events from the q2c user-event script."""

    platform = "netsuite"
    routes = (Route("netsuite", "q2c user-event script JSON, X-Q2C-Signature (HMAC-SHA256)"),)

    signature_header = SIGNATURE_HEADER
    signature_name = "X-Q2C-Signature"
    secrets_setting = "netsuite_hmac_secret"
    tolerance_setting = "netsuite_tolerance_s"

    def split(self, request: NativeRequest) -> list[NativeEvent]:
        doc = json_object(request)
        kind = f"{text_field(doc, 'recordType')}.{text_field(doc, 'eventType')}"
        return [NativeEvent(self.platform, kind, text_field(doc, "eventId"), doc)]

    def acknowledgement(self, request: NativeRequest) -> Acknowledgement:
        return STORED
