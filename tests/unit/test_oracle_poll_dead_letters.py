"""The Oracle poller's dead letters (pure): what `q2c dlq list` shows of a bad polled record,
and that `q2c dlq replay` sends it back to the topic the poller follows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from engine.connectors.oracle.receivables import INVOICES, NotAnEvent
from engine.connectors.oracle.rejects import (
    REPLAY_TOPIC,
    dead_letter_record,
    key_of,
    replay_of,
)
from engine.dlq.plan import ORIGINAL, replay_record
from engine.dlq.records import DeadLetter
from engine.kafka.records import InRecord

TOPIC = "t." + REPLAY_TOPIC
ITEM = {"CustomerTransactionId": "300100", "TransactionNumber": "INV-7", "Amount": 1.5}


def _stored(problem: NotAnEvent) -> DeadLetter:
    key = key_of(INVOICES, "300100", ITEM)
    value = json.dumps(ITEM, sort_keys=True).encode()
    out = dead_letter_record(TOPIC, key, value, problem, now_ms=1_764_600_000_000)
    assert out.topic == TOPIC + ".dlq"
    return DeadLetter.from_record(
        InRecord(out.topic, 0, 7, out.key, out.value, out.headers, 1_764_600_000_000)
    )


def test_a_bad_record_is_a_dead_letter_with_a_one_line_reason_naming_the_field() -> None:
    letter = _stored(NotAnEvent("INV-7", "receivablesInvoiceDFF.0.q2cProjectId", "missing"))
    assert letter.key_text == "oracle:receivablesInvoices:300100"
    assert json.loads(letter.value or b"") == ITEM  # the record as Oracle sent it
    assert letter.message == "oracle INV-7: receivablesInvoiceDFF.0.q2cProjectId: missing"
    assert "\n" not in letter.message
    assert letter.errors["field.path"] == "receivablesInvoiceDFF.0.q2cProjectId"
    assert letter.error_name == "NotAnEvent" and letter.stage == "convert"
    assert letter.original_topic == TOPIC
    assert letter.failed_at == datetime.fromtimestamp(1_764_600_000, UTC)


def test_a_replay_goes_to_the_topic_the_poller_follows_and_reads_back_as_the_record() -> None:
    letter = _stored(NotAnEvent("INV-7", "LastUpdateDate", "not an ISO 8601 timestamp"))
    out = replay_record(letter, ORIGINAL, "r-1", "ops", datetime(2026, 12, 2, tzinfo=UTC))
    assert (out.topic, out.key, out.value) == (TOPIC, letter.key, letter.value)
    assert not any(k.startswith("__connect.errors.") for k, _ in out.headers)
    replay = replay_of((out.key or b"").decode(), out.value or b"")
    assert (replay.resource, replay.item) == (INVOICES, ITEM)


def test_a_record_without_its_id_is_keyed_by_its_content_and_garbage_is_no_record() -> None:
    assert key_of(INVOICES, None, ITEM) == key_of(INVOICES, None, dict(ITEM))
    assert key_of(INVOICES, None, ITEM) != key_of(INVOICES, None, {**ITEM, "Amount": 2})
    assert key_of(INVOICES, None, ITEM).startswith("oracle:receivablesInvoices:content-")
    assert replay_of("oracle:receivablesInvoices:1", b"not json").item is None
    assert replay_of("oracle:receivablesInvoices:1", b"[1]").item is None
