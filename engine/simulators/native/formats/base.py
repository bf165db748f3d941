"""What a simulated platform sends the gateway: a native request, before it is signed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from engine.contracts import Event


@dataclass(frozen=True)
class NativePost:
    """One webhook delivery: the gateway route (after `/ingest/`), its body, content type
    and the platform's own headers (credentials are added when it is signed)."""

    platform: str
    route: str
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class NativeFormat(Protocol):
    """How one platform tells the world about a simulated event, in its own format."""

    platform: str

    def encode(self, event: Event) -> NativePost | None:
        """The platform's delivery of `event`, or None: it has no native event q2c maps for it."""
        ...


def stable_id(*parts: str, length: int = 16) -> str:
    """A delivery id derived from what the event is, so a resend is the same delivery."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:length]


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as the platforms write timestamps."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def unix_seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def dumps(doc: Any) -> bytes:
    """JSON with Decimals as strings (the platforms' money fields are text where they can be)."""
    return json.dumps(doc, default=_text, separators=(",", ":")).encode()


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")
