"""JSON logs carry the record's ids and never amounts, names or tax registrations; the trace of
a consumed event continues into the commands and status events it causes."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from engine.codec import encode, headers_for
from engine.codec.headers import TRACEPARENT, new_traceparent
from engine.kafka.records import InRecord, OutRecord
from engine.observability.logging import JsonFormatter, record_context, redact_text
from engine.observability.tracing import child_of, parse
from engine.runtime import processor as processor_module
from engine.runtime.names import TopicNames
from engine.runtime.processor import Processor
from engine.runtime.task import Task
from engine.workload.histories import HistoryOptions, closed_won

NAMES = TopicNames("t.")
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every q2c log line as JSON, at DEBUG, for the duration of the test."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter(static={"worker_id": "w-test"}))
    root = logging.getLogger("q2c")
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def won_record(traceparent: str) -> tuple[InRecord, str]:
    event = closed_won("D-7", HistoryOptions())
    headers = tuple(headers_for(event, traceparent=traceparent))
    rec = InRecord(NAMES.events("crm"), 0, 42, b"D-7", encode(event), headers, 0)
    return rec, event.envelope.event_id


def header(out: OutRecord, name: str) -> str:
    return dict(out.headers)[name].decode()


def test_lines_carry_the_record_ids() -> None:
    record = logging.makeLogRecord(
        {"name": "q2c.x", "levelno": 20, "levelname": "INFO", "msg": "m"}
    )
    with record_context(saga_key="D-1", event_id="e-1", correlation_id="D-1", causation_id="c-0"):
        line = json.loads(JsonFormatter().format(record))
    assert {k: line[k] for k in ("saga_key", "event_id", "correlation_id", "causation_id")} == {
        "saga_key": "D-1",
        "event_id": "e-1",
        "correlation_id": "D-1",
        "causation_id": "c-0",
    }
    assert "saga_key" not in json.loads(JsonFormatter().format(record))  # scope ended


def test_sensitive_values_are_masked_in_messages_extras_and_exceptions() -> None:
    try:
        raise ValueError("bad account {'name': 'Acme GmbH', 'tax_registration': 'DE999'}")
    except ValueError:
        logging_record = logging.LogRecord(
            "q2c.x", logging.ERROR, __file__, 1, "amount=%s for %s", ("1234.56", "x"), None
        )
        logging_record.exc_info = sys.exc_info()
    logging_record.__dict__["contract"] = {"total_value": {"amount": "99.00"}, "contract_id": "C-1"}
    line = JsonFormatter().format(logging_record)
    for secret in ("1234.56", "Acme GmbH", "DE999", "99.00"):
        assert secret not in line
    assert "C-1" in line  # ids stay
    assert redact_text("input_value={'amount': Decimal('5')}, input_type=dict") == (
        "input_value=***, input_type=dict"
    )


def test_a_failing_handler_logs_ids_but_no_customer_data(
    log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_step(*args: object, **kwargs: object) -> object:
        event = args[2]
        raise RuntimeError(f"handler bug on payload {dict(event.payload)!r}")  # type: ignore[attr-defined]

    monkeypatch.setattr(processor_module, "step", broken_step)
    proc = Processor(NAMES, clock=lambda: NOW, worker_id="w-test")
    rec, event_id = won_record(new_traceparent())
    outputs = proc.handle(Task(partition=0, producer=None), rec, NOW)  # type: ignore[arg-type]
    assert [o.topic for o in outputs] == [NAMES.dlq(rec.topic)]  # dead-lettered, not stalled
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    assert lines, "the failure must be logged"
    for line in lines:
        assert line["saga_key"] == "D-7" and line["event_id"] == event_id
        assert line["correlation_id"] == "D-7" and "trace_id" in line
    text = log_lines.getvalue()
    for secret in ("Customer of D-7", "US-TAX-D-7", "10000.00", "Q2C Services"):
        assert secret not in text, secret


def test_commands_and_status_events_continue_the_consumed_trace() -> None:
    parent = new_traceparent()
    proc = Processor(NAMES, clock=lambda: NOW, worker_id="w-test")
    rec, _ = won_record(parent)
    outputs = proc.handle(Task(partition=0, producer=None), rec, NOW)  # type: ignore[arg-type]
    traced = [o for o in outputs if o.topic in (NAMES.commands("masterdata"), NAMES.status)]
    assert {o.topic for o in traced} == {NAMES.commands("masterdata"), NAMES.status}
    trace_id, parent_span, _ = parse(parent)  # type: ignore[misc]
    for out in traced:
        got = parse(header(out, TRACEPARENT))
        assert got is not None and got[0] == trace_id and got[1] != parent_span


def test_child_of_keeps_the_trace_and_rejects_garbage() -> None:
    parent = new_traceparent()
    child = child_of(parent)
    assert child is not None and child.split("-")[1] == parent.split("-")[1]
    assert child != parent
    assert child_of("not-a-traceparent") is None and child_of(None) is None
