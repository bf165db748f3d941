"""Typed names that are also wire values: the dead-letter stage header and the audit record's
`via` and `action` are read by operators' tooling and by older releases, so their spelling is
fixed here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

import pytest
from fastapi.routing import APIRoute

from engine.dlq.headers import DEAD_LETTER_STAGES, Failure, dead_letter_headers
from engine.kafka.records import InRecord
from engine.ops.audit import AUDIT_ACTIONS, AuditRecord, Via, audit_action
from tests.unit.api_fakes import make_app


def test_the_stages_are_the_documented_wire_values() -> None:
    assert DEAD_LETTER_STAGES == (
        "decode",
        "route",
        "process",
        "limit",
        "retry",
        "translate",
        "convert",
    )


@pytest.mark.parametrize("stage", DEAD_LETTER_STAGES)
def test_each_stage_is_written_byte_for_byte(stage: str) -> None:
    record = InRecord("q2c.crm.events", 0, 7, b"k", b"v", (), 0)
    failure = Failure("E", "m", stage, "p", "t")  # type: ignore[arg-type]  # from the tuple
    headers = dict(dead_letter_headers(record, failure))
    assert headers["__connect.errors.stage"] == stage.encode()


def test_via_round_trips_through_the_audit_topic() -> None:
    assert get_args(Via) == ("cli", "api", "gateway")
    for via in get_args(Via):
        at = datetime(2026, 1, 1, tzinfo=UTC)
        record = AuditRecord("dlq.replay", "a-1", "alice", at, "x", via=via)
        raw = record.to_bytes()
        assert f'"via": "{via}"'.encode() in raw
        assert AuditRecord.from_bytes(raw) == record


def test_the_audit_actions_are_the_documented_wire_values() -> None:
    assert AUDIT_ACTIONS == (
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
    )
    with pytest.raises(ValueError, match=r"unknown audit action 'dlq\.replay-all'"):
        audit_action("dlq.replay-all")


def test_every_operator_route_is_audited_under_a_known_action() -> None:
    # A refused call on an operator route is audited under the action its path names: a new
    # route whose path names no known action would fail its own refusals' audit.
    app = make_app()
    posts = [r for r in app.routes if isinstance(r, APIRoute) and "POST" in (r.methods or ())]
    paths = [r.path for r in posts if r.path.startswith("/api/v1/") and "session" not in r.path]
    assert len(paths) >= 6
    for path in paths:
        concrete = path.replace("{saga_key}", "D-1")
        parts = concrete.removeprefix("/api/v1").strip("/").split("/")
        assert audit_action(f"{parts[0]}.{parts[-1]}"), path
