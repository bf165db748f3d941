"""Deterministic canonical event ids from a platform's own delivery identity (UUIDv5).

A platform redelivers a webhook with the same identity (Stripe `event.id`, Dynamics
`OperationId` + message, a CDC replay id or `EventUuid`, CloudEvents `source` + `id`, ...), so
the canonical event it becomes gets the same `event_id` and the saga drops the duplicate.
"""

from __future__ import annotations

import uuid

# A fixed namespace of q2c's own: changing it would give every past event a new id.
NAMESPACE = uuid.UUID("5b0e6c1e-7f0a-5d7e-9a57-2c9e1b7d3f10")


def canonical_event_id(platform: str, delivery_id: str, rule: str, index: int = 0) -> str:
    """The event id of the `index`-th canonical event rule `rule` makes of one delivery."""
    return str(uuid.uuid5(NAMESPACE, f"{platform}\x1f{delivery_id}\x1f{rule}\x1f{index}"))
