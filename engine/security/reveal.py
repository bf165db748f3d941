"""Audit records of reveals: who saw which classified fields of which record, and why (pure).

Written before the values are shown, so a reveal that is not audited does not happen. A
record names the fields, never their values.
"""

from __future__ import annotations

from typing import Any

from engine.codec import default_codec
from engine.codec.errors import DecodeError
from engine.dlq.records import DeadLetter
from engine.ops.audit import AuditAction, AuditRecord, Via, new_action_id, now_utc
from engine.security import protection

SAGA_REVEAL: AuditAction = "sagas.reveal"


def revealed_fields(dl: DeadLetter) -> list[str]:
    """The classified field paths of a dead letter's value type (empty if undecodable)."""
    try:
        name, _ = default_codec().decode_record(dl.value)
    except DecodeError:
        return []
    return [fc.field.name for fc in protection.active().fields(name)]


def _reveal(
    action: AuditAction, target: str, *, by: str, why: str, via: Via, details: dict[str, Any]
) -> AuditRecord:
    return AuditRecord(
        action=action,
        action_id=new_action_id(action.replace(".", "-")),
        by=by,
        at=now_utc(),
        target=target,
        count=1,
        details={"why": why, **details},
        outcome="done",
        via=via,
    )


def reveal_record(ref: str, dl: DeadLetter, *, by: str, why: str, via: Via) -> AuditRecord:
    """`dlq.reveal` by `by` of record `ref`, with the reason and the fields shown."""
    details = {"fields": revealed_fields(dl), "key": dl.key_text}
    return _reveal("dlq.reveal", ref, by=by, why=why, via=via, details=details)


def saga_reveal_record(
    saga_key: str, fields: dict[str, list[str]], *, by: str, why: str, via: Via
) -> AuditRecord:
    """`sagas.reveal` by `by` of the sagas of `saga_key`: the reason and, per saga type, the
    data fields shown in clear."""
    return _reveal(SAGA_REVEAL, saga_key, by=by, why=why, via=via, details={"fields": fields})
