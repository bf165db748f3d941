"""Dead-letter parsing, filters, replay records and retry moves (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.adapters.moves import (
    DUE_HEADER,
    FOLLOWED_HEADER,
    due_ms,
    previous_attempts,
    to_dead_letter,
    to_follow,
    to_retry,
)
from engine.dlq.filters import DlqFilter, first_per_origin, group_counts, select
from engine.dlq.headers import Failure, dead_letter_headers, origin_of
from engine.dlq.plan import REPLAY_ID, full_topic, replay_record
from engine.dlq.records import DeadLetter, RefError, parse_ref
from engine.kafka.records import InRecord

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MS0 = int(T0.timestamp() * 1000)


def dead(
    offset: int,
    *,
    key: bytes = b"D-1",
    error: str = "engine.codec.errors.DecodeError",
    origin_offset: int = 7,
    at_ms: int = MS0,
    topic: str = "q2c.crm.events.dlq",
) -> DeadLetter:
    src = InRecord("q2c.crm.events", 2, origin_offset, key, b"v", (("q2c-event-id", b"e1"),), 1)
    failure = Failure(error, "cannot decode", "decode", "proc", "w/2", 1, at_ms, at_ms)
    return DeadLetter(topic, 0, offset, key, b"SECRET", dead_letter_headers(src, failure), at_ms)


def test_refs_round_trip_and_reject_garbage() -> None:
    assert parse_ref("p.q2c.crm.events.dlq:3:17") == ("p.q2c.crm.events.dlq", 3, 17)
    assert dead(5).ref == "q2c.crm.events.dlq:0:5"
    for bad in ("nope", "t:x:1", "t:1", ":1:2", "t:-1:0"):
        with pytest.raises(RefError):
            parse_ref(bad)


def test_fields_from_headers() -> None:
    dl = dead(5)
    assert (dl.original_topic, dl.original_partition, dl.original_offset) == (
        "q2c.crm.events",
        2,
        7,
    )
    assert dl.error_name == "DecodeError" and dl.attempts == 1 and dl.failed_at == T0
    assert "SECRET" not in str(dl.summary())  # listings never carry the value


def test_filters() -> None:
    a = dead(1, key=b"D-1")
    b = dead(2, key=b"D-2", error="engine.adapters.errors.TransientError", at_ms=MS0 + 3_600_000)
    assert select([b, a], DlqFilter()) == [a, b]
    assert select([a, b], DlqFilter(error="TransientError")) == [b]
    assert select([a, b], DlqFilter(error="engine.codec.errors.DecodeError")) == [a]
    assert select([a, b], DlqFilter(key="D-2")) == [b]
    assert select([a, b], DlqFilter(topics=("q2c.crm.events",))) == [a, b]  # original topic
    assert select([a, b], DlqFilter(topics=("q2c.erp.events.dlq",))) == []
    assert select([a, b], DlqFilter(since=T0 + timedelta(minutes=1))) == [b]
    assert select([a, b], DlqFilter(until=T0 + timedelta(minutes=1))) == [a]
    assert select([a, b], DlqFilter(), frozenset({a.ref})) == [b]  # purged
    assert group_counts([a, b, a]) == [
        ("q2c.crm.events.dlq", "engine.codec.errors.DecodeError", 2),
        ("q2c.crm.events.dlq", "engine.adapters.errors.TransientError", 1),
    ]
    flt = DlqFilter(topics=("x",), error="E", since=T0, key="k")
    assert DlqFilter.from_json(flt.to_json()) == flt
    assert DlqFilter().empty and not flt.empty


def test_first_per_origin_drops_copies_of_one_failure() -> None:
    a, copy, other = dead(1), dead(2), dead(3, origin_offset=8)
    assert first_per_origin([a, copy, other]) == [a, other]


def test_replay_record_restores_the_original_record() -> None:
    dl = dead(4)
    again = DeadLetter(dl.topic, 0, 9, dl.key, dl.value, (*dl.headers, (REPLAY_ID, b"old")), 1)
    out = replay_record(again, "original", "replay-1", "alice", T0)
    assert (out.topic, out.key, out.value, out.partition) == (
        "q2c.crm.events",
        b"D-1",
        b"SECRET",
        None,
    )
    names = [k for k, _ in out.headers]
    assert names == ["q2c-event-id", "q2c.replay.id", "q2c.replay.by", "q2c.replay.at"]
    assert (REPLAY_ID, b"replay-1") in out.headers
    assert replay_record(dl, "p.q2c.saga.inbox", "r", "a", T0).topic == "p.q2c.saga.inbox"
    assert full_topic("p.", "q2c.crm.events") == "p.q2c.crm.events"
    assert full_topic("p.", "p.q2c.crm.events") == "p.q2c.crm.events"


def test_moves_keep_the_first_coordinates_and_count_attempts() -> None:
    cmd = InRecord("q2c.commands.erp", 4, 11, b"D-1", b"v", (("q2c-event-id", b"c1"),), MS0)
    try:
        value = "secret-value"  # as handler code would hold a payload field
        raise KeyError(value)
    except KeyError as exc:
        failure = Failure.from_exception(
            exc, stage="retry", processor="p", task_id="p/4", now_ms=MS0, attempts=2
        )
    assert "secret-value" not in failure.stacktrace and "withheld" in failure.stacktrace
    assert "secret-value" not in failure.message
    tier1 = to_retry(cmd, failure, "q2c.commands.erp.retry-1m", 1, MS0 + 60_000)
    assert tier1.partition == 4 and tier1.key == b"D-1"
    moved = InRecord(tier1.topic, 4, 0, tier1.key, tier1.value, tier1.headers, MS0 + 5)
    assert due_ms(moved) == MS0 + 60_000 and previous_attempts(moved) == 2
    origin = origin_of(moved)
    assert (origin.topic, origin.partition, origin.offset) == ("q2c.commands.erp", 4, 11)
    dl = to_dead_letter(moved, failure, "q2c.commands.dlq")
    parsed = DeadLetter("q2c.commands.dlq", 0, 0, dl.key, dl.value, dl.headers, MS0)
    assert (parsed.original_topic, parsed.original_offset) == ("q2c.commands.erp", 11)
    assert parsed.replay_headers == (("q2c-event-id", b"c1"),)
    follower = to_follow(cmd, "q2c.commands.erp.retry-1m", 1, MS0 + 1)
    f_in = InRecord(follower.topic, 4, 1, follower.key, follower.value, follower.headers, MS0)
    assert (FOLLOWED_HEADER, b"true") in follower.headers and previous_attempts(f_in) == 0
    assert origin_of(f_in).offset == 11
    again = to_follow(f_in, "q2c.commands.erp.retry-10m", 2, MS0 + 2)
    assert [k for k, _ in again.headers].count(DUE_HEADER) == 1


def test_dead_letter_failure_text_never_quotes_a_bug_message() -> None:
    """A handler bug's text may echo payload values: only safe messages reach the headers."""
    from engine.codec import DecodeError

    payload = {"amount": "120000.00", "customer": "ACME GmbH"}
    try:
        raise ValueError(f"bad amount {payload['amount']} for {payload['customer']}")
    except ValueError as exc:
        bug = Failure.from_exception(exc, stage="process", processor="p", task_id="t", now_ms=MS0)
    assert "120000" not in bug.message and "120000" not in bug.stacktrace
    assert "ValueError" in bug.message and "test_dlq_records.py" in bug.stacktrace
    decode = Failure.from_exception(
        DecodeError("t", 0, 5, "contract.currency: not an ISO 4217 code"),
        stage="decode",
        processor="p",
        task_id="t",
        now_ms=MS0,
    )
    assert "contract.currency" in decode.message
