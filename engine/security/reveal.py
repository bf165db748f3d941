"""The audit record of a reveal: who saw which classified fields of which record, and why (pure).

Written before the values are shown, so a reveal that is not audited does not happen. The
record names the fields, never their values.
"""

from __future__ import annotations

from engine.codec import default_codec
from engine.codec.errors import DecodeError
from engine.dlq.records import DeadLetter
from engine.ops.audit import AuditRecord, new_action_id, now_utc
from engine.security import protection


def revealed_fields(dl: DeadLetter) -> list[str]:
    """The classified field paths of a dead letter's value type (empty if undecodable)."""
    try:
        name, _ = default_codec().decode_record(dl.value)
    except DecodeError:
        return []
    return [fc.field.name for fc in protection.active().fields(name)]


def reveal_record(ref: str, dl: DeadLetter, *, by: str, why: str, via: str) -> AuditRecord:
    """`dlq.reveal` by `by` of record `ref`, with the reason and the fields shown."""
    return AuditRecord(
        action="dlq.reveal",
        action_id=new_action_id("dlq-reveal"),
        by=by,
        at=now_utc(),
        target=ref,
        count=1,
        details={"why": why, "fields": revealed_fields(dl), "key": dl.key_text},
        outcome="done",
        via=via,
    )
