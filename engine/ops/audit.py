"""Audit records of operator actions (pure): who did what, to which records, and when.

Written as JSON to `q2c.ops.audit`, keyed by the saga key when the action concerns one saga,
else by the action id. Values never contain payloads, only references and filters. The CLI and
the HTTP API write the same records: `via` tells them apart, `by` is the login name (CLI) or the
API caller's role and token fingerprint (`operator:1a2b...`, never the token), and `outcome`
records refused and failed calls as well as the ones that went through.
"""

from __future__ import annotations

import getpass
import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args


def operator() -> str:
    """Who is acting: $USER (or the login name), as the CLI's audit records name them."""
    name = os.environ.get("USER") or os.environ.get("USERNAME")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def new_action_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:12]}"


Via = Literal["cli", "api", "gateway"]  # where an operator acted, or a caller was refused
# What was done, as written to the audit topic (operators' tooling filters on these).
AuditAction = Literal[
    "dlq.replay",
    "dlq.purge",
    "dlq.reveal",
    "dlq.bulk",
    "exceptions.retry",
    "exceptions.cancel",
    "exceptions.note",
    "exceptions.bulk",
    "sagas.read",
    "sagas.reveal",
    "api.refused",
    "gateway.refused",
]
AUDIT_ACTIONS: tuple[AuditAction, ...] = get_args(AuditAction)


def audit_action(name: str) -> AuditAction:
    """`name` (e.g. derived from an API route) as an audit action; ValueError when the audit
    trail has no such action, so a new route cannot write an action nobody filters on."""
    for action in AUDIT_ACTIONS:
        if action == name:
            return action
    raise ValueError(f"unknown audit action {name!r}; known: {', '.join(AUDIT_ACTIONS)}")


@dataclass(frozen=True)
class AuditRecord:
    """One operator action; `details` holds action-specific, payload-free facts."""

    action: AuditAction
    action_id: str
    by: str
    at: datetime
    target: str  # a saga key, or a description of the records acted on
    count: int = 0
    filter: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    outcome: str = "done"  # done | requested | not-found | denied:401 | rejected:... | error:...
    via: Via = "cli"

    @property
    def key(self) -> bytes:
        return (self.target if self.action.startswith("exceptions.") else self.action_id).encode()

    def to_bytes(self) -> bytes:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return json.dumps(data, sort_keys=True, default=str).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> AuditRecord:
        data = json.loads(raw)
        data["at"] = datetime.fromisoformat(data["at"])
        return cls(**data)


def now_utc() -> datetime:
    return datetime.now(UTC)


def refusal(
    action: AuditAction, *, by: str, target: str, outcome: str, via: Via, details: dict[str, Any]
) -> AuditRecord:
    """A call that was refused or failed before it acted (nothing was sent)."""
    return AuditRecord(
        action=action,
        action_id=new_action_id(action.replace(".", "-")),
        by=by,
        at=now_utc(),
        target=target,
        outcome=outcome,
        via=via,
        details=details,
    )
