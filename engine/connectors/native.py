"""The native-event record (pure): a stored request as a Kafka record and back.

Value: the request body, byte for byte. Headers: `q2c-native-*` (platform, route, tenant,
content type, received-at) and the HTTP headers the translator needs (`q2c-native-h-<name>`).
Credentials (Authorization, query-string keys) are never stored.
"""

from __future__ import annotations

from datetime import datetime

from engine.connectors.protocol import NativeRequest
from engine.kafka.records import Headers, InRecord, OutRecord

H = "q2c-native-"
HTTP = H + "h-"
_KEPT_EXACT = frozenset({"content-type", "stripe-signature", "soapaction", "x-q2c-signature"})
_KEPT_PREFIXES = ("x-ms-dynamics-", "x-ms-correlation-", "ce-", "x-netsuite-", "x-oic-")


class NativeRecordError(ValueError):
    """A record on a native topic lacks the gateway's headers."""

    message_is_safe = True


def kept_headers(headers: dict[str, str]) -> dict[str, str]:
    """The request headers worth storing: what translation and audit need, no credentials."""
    return {k: v for k, v in headers.items() if k in _KEPT_EXACT or k.startswith(_KEPT_PREFIXES)}


def to_record(topic: str, request: NativeRequest, key: str | None) -> OutRecord:
    meta = {
        "platform": request.platform,
        "route": request.route,
        "tenant": request.tenant,
        "received-at": request.received_at.isoformat(),
    }
    headers: list[tuple[str, bytes]] = [(H + k, v.encode()) for k, v in meta.items()]
    headers += [(HTTP + k, v.encode()) for k, v in kept_headers(dict(request.headers)).items()]
    return OutRecord(topic, None if key is None else key.encode(), request.body, tuple(headers))


def from_record(record: InRecord) -> NativeRequest:
    """The stored request; raises NativeRecordError when a gateway header is missing."""
    return from_parts(record.value, record.headers)


def from_parts(value: bytes | None, headers: Headers) -> NativeRequest:
    meta: dict[str, str] = {}
    http: dict[str, str] = {}
    for k, v in headers:
        if k.startswith(HTTP):
            http[k[len(HTTP) :]] = v.decode(errors="replace")
        elif k.startswith(H):
            meta[k[len(H) :]] = v.decode(errors="replace")
    try:
        return NativeRequest(
            platform=meta["platform"],
            route=meta["route"],
            body=value or b"",
            headers=http,
            received_at=datetime.fromisoformat(meta["received-at"]),
            tenant=meta.get("tenant", ""),
        )
    except (KeyError, ValueError):
        raise NativeRecordError("not a gateway record: q2c-native-* headers missing") from None
