"""A record is applied to all of its sagas or to none, and never writes an unwritable record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.codec import encode, headers_for
from engine.dlq.headers import P
from engine.kafka.records import InRecord, TopicPartition
from engine.observability.logging import current_context
from engine.runtime import limits
from engine.runtime import processor as processor_module
from engine.runtime.names import TopicNames
from engine.runtime.processor import Processor
from engine.runtime.task import Task
from engine.runtime.translate import status_record
from engine.saga import engine as saga_engine
from engine.saga.model import StatusChange
from engine.sagas import sagas_for_event
from engine.workload.histories import HistoryOptions, closed_won, deal_history

NAMES = TopicNames("t.")
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def _won(deal: str) -> InRecord:
    event = closed_won(deal, HistoryOptions())
    value = encode(event)
    return InRecord(NAMES.events("crm"), 0, 7, deal.encode(), value, tuple(headers_for(event)), 0)


def _task() -> Task:
    return Task(partition=0, producer=None)  # type: ignore[arg-type]


def _error(out: object) -> str:
    return dict(out.headers)[P + "exception.message"].decode()  # type: ignore[attr-defined]


def test_a_failure_in_one_saga_leaves_every_saga_of_the_event_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumers = [d.name for d in sagas_for_event("closed-won")]
    assert len(consumers) > 1  # closed-won starts several saga types
    last = consumers[-1]

    def failing_for_the_last_saga(change: StatusChange, *args: object) -> object:
        if change.saga_type == last:
            raise RuntimeError("translation bug")
        return status_record(change, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(processor_module, "status_record", failing_for_the_last_saga)
    proc, task = Processor(NAMES, clock=lambda: NOW, worker_id="w"), _task()
    outputs = proc.handle(task, _won("D-1"), NOW)
    assert [o.topic for o in outputs] == [NAMES.dlq(NAMES.events("crm"))]
    # The earlier sagas' steps were not staged: their commands would otherwise be lost.
    assert not task.store.dirty
    assert all(task.store.get((name, "D-1")) is None for name in consumers)
    assert proc.correlation.get("deal_id", "D-1") is None

    monkeypatch.undo()  # the fix deployed: the same record now applies to every saga
    outputs = proc.handle(task, _won("D-1"), NOW)
    assert all(task.store.get((name, "D-1")) is not None for name in consumers)
    assert NAMES.commands("masterdata") in {o.topic for o in outputs}


def test_checking_states_dead_letters_a_step_whose_state_is_over_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kafka would refuse the record and every retry of the transaction: the partition would
    stall. When the worker re-runs a batch checking states, the event goes to the dead-letter
    topic with the sizes instead."""
    monkeypatch.setattr(limits, "MAX_RECORD_BYTES", 900)
    proc, task = Processor(NAMES, clock=lambda: NOW, worker_id="w"), _task()
    unchecked = proc.handle(task, _won("D-2"), NOW)
    assert NAMES.commands("masterdata") in {o.topic for o in unchecked}  # the commit checks it
    task.store.abort()
    task.check_states = True
    outputs = proc.handle(task, _won("D-2"), NOW)
    assert [o.topic for o in outputs] == [NAMES.dlq(NAMES.events("crm"))]
    assert "saga state of quote-to-cash D-2 would be" in _error(outputs[0])
    assert "over the 900 limit" in _error(outputs[0])
    assert not task.store.dirty


def test_an_output_record_over_the_limit_is_always_dead_lettered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(limits, "MAX_RECORD_BYTES", 100)
    proc, task = Processor(NAMES, clock=lambda: NOW, worker_id="w"), _task()
    outputs = proc.handle(task, _won("D-3"), NOW)
    assert [o.topic for o in outputs] == [NAMES.dlq(NAMES.events("crm"))]
    assert "record for t.q2c." in _error(outputs[0])
    assert not task.store.dirty


def _erp_reply(deal: str, n: int, *, correlation_id: str | None) -> InRecord:
    """The deal's `project-activated` reply, made distinct by `n` (its own event id)."""
    (reply,) = [
        e
        for e in deal_history(deal, HistoryOptions(correlated_replies=False))
        if e.envelope.event_type == "project-activated"
    ]
    envelope = reply.envelope.model_copy(
        update={
            "event_id": f"{reply.envelope.event_id[:-4]}{n:04d}",
            "correlation_id": correlation_id,
        }
    )
    event = reply.model_copy(update={"envelope": envelope})
    key = (correlation_id or event.project_id).encode()  # type: ignore[attr-defined]
    value = encode(event)
    return InRecord(NAMES.events("erp"), 0, n, key, value, tuple(headers_for(event)), 0)


def _stage(out: object) -> str:
    return dict(out.headers)[P + "stage"].decode()  # type: ignore[attr-defined]


def test_records_past_a_keys_waiting_bound_are_dead_lettered_with_a_clear_reason() -> None:
    proc, task = Processor(NAMES, clock=lambda: NOW, worker_id="w"), _task()
    task.waiting.max_per_key = 2
    assert [proc.handle(task, _erp_reply("D-5", n, correlation_id=None), NOW) for n in (1, 2)] == [
        [],
        [],
    ]
    (dead,) = proc.handle(task, _erp_reply("D-5", 3, correlation_id=None), NOW)
    assert dead.topic == NAMES.dlq(NAMES.events("erp")) and _stage(dead) == "limit"
    assert "2 records of this key already wait" in _error(dead)
    assert len(task.waiting) == 2


def test_a_waiting_record_is_routed_once_its_correlation_arrives() -> None:
    proc, task = Processor(NAMES, clock=lambda: NOW, worker_id="w"), _task()
    rec = _erp_reply("D-6", 1, correlation_id=None)
    assert proc.handle(task, rec, NOW) == []
    task.consumed[TopicPartition(rec.topic, 0)] = rec.offset + 1
    assert proc.route_waiting(task, NOW, max_wait_s=60) == ([], {})  # nothing learnt yet
    project_id = rec.key.decode()  # type: ignore[union-attr]
    proc.correlation.put("project_id", project_id, "D-6")
    outputs, offsets = proc.route_waiting(task, NOW, max_wait_s=60)
    # Keyed by its project, the reply goes to the saga's partition through the inbox.
    assert [o.topic for o in outputs] == [NAMES.inbox]
    assert offsets == {TopicPartition(rec.topic, 0): rec.offset + 1}
    assert not task.waiting
    # The ids bound while routing it do not stay on the worker loop's later log lines.
    assert "saga_key" not in current_context()


def test_a_saga_flooded_with_parked_events_dead_letters_the_excess(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Made-up correlation ids start "pending" sagas that park every event: past the bound the
    event is dead-lettered (one log line, no traceback) and the saga's state stops growing."""
    monkeypatch.setattr(saga_engine, "MAX_PARKED_EVENTS", 2)
    proc, task = Processor(NAMES, clock=lambda: NOW, worker_id="w"), _task()
    for n in (1, 2):
        assert proc.handle(task, _erp_reply("D-7", n, correlation_id="FAKE-1"), NOW) == []
    (dead,) = proc.handle(task, _erp_reply("D-7", 3, correlation_id="FAKE-1"), NOW)
    assert _stage(dead) == "limit" and "already holds 2 parked events" in _error(dead)
    states = [task.store.get((d.name, "FAKE-1")) for d in sagas_for_event("project-activated")]
    assert {len(s.parked) for s in states if s is not None} == {2}
