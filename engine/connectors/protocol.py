"""What every inbound connector is: the native request, the native events in it, and outcomes.

A connector has three pure jobs, each testable without HTTP or Kafka:
`authenticate` (raise `AuthError`, or return the verified tenant), `split` (the native events a
stored request holds, each with its delivery identity) and, through the shared mapping engine,
`translate` (native event -> canonical events, or `Unmapped`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from engine.connectors.settings import ConnectorSettings


class AuthError(Exception):
    """The request is not authentic; `reason` is a short metric label (bad-signature, ...)."""

    message_is_safe = True

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class ParseError(ValueError):
    """An authenticated request whose body cannot be read as the platform's format."""

    message_is_safe = True

    def __init__(self, reason: str, field_path: str = "<body>") -> None:
        super().__init__(f"{reason} (at {field_path})")
        self.reason = reason
        self.field_path = field_path


@dataclass(frozen=True)
class NativeRequest:
    """An HTTP request as the gateway received it: raw bytes and lower-cased header names."""

    platform: str
    route: str
    body: bytes
    headers: Mapping[str, str]
    received_at: datetime
    query: Mapping[str, str] = field(default_factory=dict)
    tenant: str = ""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class NativeEvent:
    """One native event of a request, as a JSON-like document the mapping engine reads.

    `delivery_id` is the platform's own identity of this delivery (Stripe `event.id`, ...):
    the canonical event ids are derived from it, so a redelivery yields the same ids.
    """

    platform: str
    kind: str
    delivery_id: str
    document: Mapping[str, Any]
    mapping: str = ""  # which platform's mapping applies (Certinia rides on Salesforce CDC)

    @property
    def mapping_name(self) -> str:
        return self.mapping or self.platform


@dataclass(frozen=True)
class Unmapped:
    """A native event that cannot become canonical events: why, and which field."""

    reason: str
    field_path: str

    def __str__(self) -> str:
        return f"{self.reason} (field {self.field_path})"


@dataclass(frozen=True)
class Acknowledgement:
    """The response body a platform expects once its request is stored (default: JSON)."""

    body: bytes = b'{"stored":true}'
    media_type: str = "application/json"
    status_code: int = 200


@dataclass(frozen=True)
class Route:
    """One gateway route: `POST /ingest/<path>` of a platform."""

    path: str
    description: str


class InboundConnector(Protocol):
    """An inbound platform connector (one module per platform, registered in the registry)."""

    @property
    def platform(self) -> str:
        """The platform's name: its topic, settings prefix and mapping file name."""
        ...

    @property
    def routes(self) -> tuple[Route, ...]:
        """The gateway routes it serves, each `POST /ingest/<path>`."""
        ...

    def precheck(self, request: NativeRequest, settings: ConnectorSettings, now: datetime) -> None:
        """Refuse (AuthError) what the headers alone show to be unauthentic, before the body
        is read: `request.body` is empty here."""
        ...

    def authenticate(
        self, request: NativeRequest, settings: ConnectorSettings, now: datetime
    ) -> str:
        """Raise AuthError unless the request is authentic; return the tenant it came from."""
        ...

    def split(self, request: NativeRequest) -> list[NativeEvent]:
        """The native events the stored request holds; raise ParseError when unreadable."""
        ...

    def acknowledgement(self, request: NativeRequest) -> Acknowledgement:
        """What to answer once the request is stored."""
        ...
