"""Audit trail of operator actions: one JSON record per action on `q2c.ops.audit`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from engine.kafka.records import OutRecord


def audit_record(
    topic: str,
    *,
    actor: str,
    action: str,
    target: str,
    outcome: str,
    params: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> OutRecord:
    """Who did what to which target, when, with what parameters and result.

    Keyed by the target (a saga key or a topic/partition/offset) so one target's trail stays
    in order; `actor` is a role and token fingerprint, never a token.
    """
    action_id = str(uuid.uuid4())
    body = {
        "action_id": action_id,
        "at": (at or datetime.now(UTC)).isoformat(),
        "actor": actor,
        "action": action,
        "target": target,
        "outcome": outcome,
        "params": dict(params or {}),
        "via": "api",
    }
    return OutRecord(
        topic=topic,
        key=(target or action_id).encode(),
        value=json.dumps(body, sort_keys=True, default=str).encode(),
        headers=(("content-type", b"application/json"),),
    )
