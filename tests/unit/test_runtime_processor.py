"""A record is applied to all of its sagas or to none, and never writes an unwritable record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.codec import encode, headers_for
from engine.dlq.headers import P
from engine.kafka.records import InRecord
from engine.runtime import limits
from engine.runtime import processor as processor_module
from engine.runtime.names import TopicNames
from engine.runtime.processor import Processor
from engine.runtime.task import Task
from engine.runtime.translate import status_record
from engine.saga.model import StatusChange
from engine.sagas import sagas_for_event
from engine.workload.histories import HistoryOptions, closed_won

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
