"""Turns one consumed record into staged saga state and the records to write (no Kafka I/O).

The worker owns transactions and offsets; this class owns what a record means: decode, route,
step every interested saga, and translate effects. Failures that retrying cannot fix (garbage,
unknown schema, invalid payload, a handler bug) become dead-letter records in the same
transaction, so a poison record never stalls its partition.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from engine.codec import DecodeError, decode_consumed
from engine.contracts import Event
from engine.dlq.headers import DeadLetterStage, Failure, dead_letter_headers
from engine.kafka.records import InRecord, OutRecord, TopicPartition
from engine.observability import metrics
from engine.observability.logging import bind as bind_log_context
from engine.observability.tracing import current_traceparent, record_scope
from engine.runtime.correlation import CorrelationTable, index_key
from engine.runtime.limits import check_size
from engine.runtime.names import TopicNames
from engine.runtime.routing import (
    Forward,
    Process,
    Wait,
    implied_correlations,
    lookup_ids,
    route,
)
from engine.runtime.store import StoreKey
from engine.runtime.task import Task
from engine.runtime.translate import (
    SAGA_KEY_HEADER,
    command_record,
    status_record,
    to_saga_event,
)
from engine.runtime.waiting import LineFull
from engine.saga.engine import ParkedLimit, due_timers, step
from engine.saga.model import Correlate, Decision, SagaCommand, SagaEvent, SagaState, StatusChange
from engine.saga.payload import TimerFiring
from engine.sagas import SAGAS, hooks_of, sagas_for_event
from engine.security.admission import Admission
from engine.security.protection import active
from engine.topics.loader import load_catalog

log = logging.getLogger("q2c.processor")


class UncorrelatedEvent(Exception):
    """An event's saga could not be found from its source ids within the wait bound."""

    message_is_safe = True


PROCESSOR_NAME = "q2c-saga-worker"


class Processor:
    """Stateless apart from the correlation table; every per-partition bit lives in the Task."""

    def __init__(self, names: TopicNames, *, clock: Callable[[], datetime], worker_id: str) -> None:
        self.names = names
        self.clock = clock
        self.worker_id = worker_id
        self.correlation = CorrelationTable(names.correlation)
        self.admission = Admission.from_topics(
            (t.name, t.value_schemas) for t in load_catalog().topics
        )
        # Committed outcomes (see engine.runtime.outcomes), for tests, the demo and the API.
        self.counts: Counter[str] = Counter(processed=0, dead_lettered=0, forwarded=0)

    async def start(self, options: dict[str, Any]) -> None:
        await self.correlation.start(options)

    async def stop(self) -> None:
        await self.correlation.stop()

    # -- records ----------------------------------------------------------------------------

    def handle(self, task: Task, rec: InRecord, now: datetime) -> list[OutRecord]:
        """Outputs for one record; state changes are staged in the task's store."""
        began = time.perf_counter()
        metrics.RECORDS_CONSUMED.labels(self.names.logical(rec.topic)).inc()
        with record_scope(rec):  # trace + log context for everything this record causes
            try:
                return self._handle(task, rec, now, since=time.monotonic())
            finally:
                metrics.PROCESSING_SECONDS.observe(time.perf_counter() - began)

    def _handle(self, task: Task, rec: InRecord, now: datetime, since: float) -> list[OutRecord]:
        try:
            if task.waiting.blocks(rec):
                # Same key as a record that waits for its correlation: keep that key's order.
                task.waiting.add(rec, since)
                return []
            model = self._decode(rec)
            if not isinstance(model, Event):
                raise DecodeError(rec.topic, rec.partition, rec.offset, "not an event")
            refused = self.admission.refusal(self.names.logical(rec.topic), model.AVRO_NAME)
            if refused is not None:
                raise DecodeError(rec.topic, rec.partition, rec.offset, refused)
            if rec.topic == self.names.inbox:
                key = rec.header(SAGA_KEY_HEADER)
                decision: Process | Forward | Wait = Process((key or rec.key or b"").decode())
            else:
                decision = route(model, rec.key, self.correlation.get)
            bind_log_context(
                saga_key=getattr(decision, "saga_key", None),
                causation_id=model.envelope.causation_id,
            )
            if isinstance(decision, Wait):
                self.correlation.watch(task.waiting)
                ids = [index_key(kind, value) for kind, value in lookup_ids(model)]
                task.waiting.add(rec, since, waits_on=ids)
                return []
            if isinstance(decision, Forward):
                task.outcomes.forwarded(self.names.logical(rec.topic))
                return [self._forward(rec, decision.saga_key)]
            outputs = self._apply(task, to_saga_event(model, decision.saga_key), now)
            task.outcomes.processed(self.names.logical(rec.topic), model.envelope.event_type)
            return outputs
        except DecodeError as exc:
            return [self._dead_letter(task, rec, exc, "decode", now)]
        except (LineFull, ParkedLimit) as exc:
            # A flood for one key: refused with a line an operator can read, no traceback.
            log.warning("%s-%s@%s dead-lettered: %s", rec.topic, rec.partition, rec.offset, exc)
            return [self._dead_letter(task, rec, exc, "limit", now)]
        except Exception as exc:  # a bug in a handler must not stall the partition
            log.exception("processing %s-%s@%s failed", rec.topic, rec.partition, rec.offset)
            return [self._dead_letter(task, rec, exc, "process", now)]

    def _decode(self, rec: InRecord) -> Any:
        if rec.value is None:
            raise DecodeError(rec.topic, rec.partition, rec.offset, "empty value (tombstone)")
        return decode_consumed(rec)

    def _forward(self, rec: InRecord, saga_key: str) -> OutRecord:
        headers = tuple((k, v) for k, v in rec.headers if k != SAGA_KEY_HEADER)
        # Sealed fields are bound to the record key: re-seal them for the saga key.
        headers = active().rebind(headers, rec.key, saga_key.encode())
        return OutRecord(
            topic=self.names.inbox,
            key=saga_key.encode(),
            value=rec.value,
            headers=(*headers, (SAGA_KEY_HEADER, saga_key.encode())),
        )

    def _dead_letter(
        self, task: Task, rec: InRecord, exc: BaseException, stage: DeadLetterStage, now: datetime
    ) -> OutRecord:
        task.outcomes.dead_lettered(self.names.logical(rec.topic), stage)
        failure = Failure.from_exception(
            exc,
            stage=stage,
            processor=PROCESSOR_NAME,
            task_id=f"{self.worker_id}/{task.partition}",
            now_ms=int(now.timestamp() * 1000),
        )
        return OutRecord(
            topic=self.names.dlq(rec.topic),
            key=rec.key,
            value=rec.value,
            headers=dead_letter_headers(rec, failure),
        )

    # -- sagas ------------------------------------------------------------------------------

    def _apply(self, task: Task, event: SagaEvent, now: datetime) -> list[OutRecord]:
        """Step every saga type interested in the event; stage states only when all succeed.

        Every saga's records are built (and size-checked) before any state is staged, so an
        event that fails for one saga type leaves all of them as they were: it is dead-lettered
        whole, never half applied with the other sagas' commands lost.
        """
        steps: list[_Step] = []
        for definition in sagas_for_event(event.event_type):
            key = (definition.name, event.saga_key)
            before = task.store.get(key)
            decision = step(definition, before, event, now)
            if decision.state is not before:
                steps.append(self._prepare(key, before, decision, now, task))
        outputs: list[OutRecord] = []
        for prepared in steps:
            outputs += self._record(task, prepared)
        return outputs

    def _prepare(
        self,
        key: StoreKey,
        before: SagaState | None,
        decision: Decision,
        now: datetime,
        task: Task,
    ) -> _Step:
        """Everything a step writes, built without changing the task: raises on a record that
        cannot be written (a translation bug, a record over the size limit).

        The new state's size is checked only when `task.check_states`: serialising it per step
        costs more than once per saga at commit, where the worker checks it anyway and re-runs
        the batch checking states when one is over the limit."""
        outputs: list[OutRecord] = []
        learnt: list[tuple[str, str]] = []
        commands: list[SagaCommand] = []
        for effect in decision.effects:
            if isinstance(effect, SagaCommand):
                outputs.append(command_record(effect, self.names, now, current_traceparent()))
                commands.append(effect)
                learnt += implied_correlations(effect)
            elif isinstance(effect, StatusChange):
                status = status_record(effect, self.names, now, current_traceparent())
                # The analytics stream carries the same facts with its own retention and
                # access rules, so analytics consumers never need read access to CRM topics.
                outputs += [status, replace(status, topic=self.names.analytics)]
            elif isinstance(effect, Correlate):
                learnt.append((effect.id_kind, effect.id_value))
            # SetTimer / CancelTimer already live in the saga state (the store indexes them).
        # Replies quote the same reference again and again: write only what the topic lacks.
        outputs += [
            self._correlation_record(kind, value, key[1])
            for kind, value in learnt
            if not self.correlation.on_topic(kind, value, key[1])
        ]
        for out in outputs:
            check_size(f"record for {out.topic}", out.value or b"", out.key)
        raw_state = None
        if task.check_states:
            raw_state = task.store.encode(decision.state)
            check_size(f"saga state of {key[0]} {key[1]}", raw_state)
        return _Step(key, before, decision, raw_state, outputs, learnt, commands)

    def _record(self, task: Task, prepared: _Step) -> list[OutRecord]:
        """Stage a prepared step (its changelog record is written at commit) and return its
        records."""
        key, state = prepared.key, prepared.decision.state
        _observe(key[0], prepared.before, state)
        task.store.stage(key, state, raw=prepared.raw_state)
        for command in prepared.commands:
            task.outcomes.command(command.command_type, command.target_system)
        for kind, value in prepared.learnt:
            # Known at once on this worker; other workers learn it from the topic.
            self.correlation.put(kind, value, key[1])
        return prepared.outputs

    def _correlation_record(self, id_kind: str, id_value: str, saga_key: str) -> OutRecord:
        return OutRecord(
            topic=self.names.correlation,
            key=index_key(id_kind, id_value).encode(),
            value=saga_key.encode(),
        )

    def fire_timers(self, task: Task, now: datetime) -> list[OutRecord]:
        """Apply every due timer of the task's sagas as timer-fired events.

        A saga whose timer handling fails is logged and left as it was (its timers stay in its
        state and are indexed again on its next change or restore); the others go on.
        """
        outputs: list[OutRecord] = []
        for key in task.store.due(now):
            state = task.store.get(key)
            if state is None:
                continue
            definition = SAGAS[key[0]]
            steps: list[_Step] = []
            current = state
            try:
                for event in due_timers(state, now):
                    decision = step(definition, current, event, now)
                    assert isinstance(event.payload, TimerFiring)  # due_timers makes them
                    metrics.TIMERS_FIRED.labels(key[0], event.payload.name).inc()
                    if decision.state is not current:
                        steps.append(self._prepare(key, current, decision, now, task))
                        current = decision.state
            except Exception:
                log.exception("timer of %s %s failed; the saga is left unchanged", *key)
                metrics.TIMER_FAILURES.labels(key[0]).inc()
                continue
            for prepared in steps:
                outputs += self._record(task, prepared)
        return outputs

    def route_waiting(
        self, task: Task, now: datetime, *, max_wait_s: float
    ) -> tuple[list[OutRecord], dict[TopicPartition, int]]:
        """Retry the waiting records whose correlation arrived; dead-letter those whose wait
        passed `max_wait_s` (the records behind an expired one are retried).

        Returns the outputs and the new commit offsets of the partitions that had releases.
        """
        outputs: list[OutRecord] = []
        touched: set[TopicPartition] = set()
        for line in task.waiting.release(time.monotonic() - max_wait_s):
            records = line.records
            touched.add(TopicPartition(records[0].record.topic, records[0].record.partition))
            if line.expired:
                reason = UncorrelatedEvent(
                    f"no saga key known for this record after {max_wait_s:.0f}s of waiting"
                )
                outputs.append(self._dead_letter(task, records[0].record, reason, "route", now))
                records = records[1:]
            for parked in records:
                # Its own trace and log scope, as in `handle`: ids bound while routing it must
                # not stay on the loop's later log lines.
                with record_scope(parked.record):
                    outputs += self._handle(task, parked.record, now, since=parked.since)
        offsets = {tp: task.commit_offset(tp) for tp in touched}
        return outputs, offsets


def _observe(saga_type: str, before: SagaState | None, after: SagaState) -> None:
    """Business metrics the saga type declares for a step (cycle times and SLA breaches, by
    event time).

    Metrics never stop processing: a failure here is logged and the step goes on.
    """
    hooks = hooks_of(saga_type)
    if not hooks.observes:
        return
    old = before.data if before is not None else {}
    try:
        for cycle, seconds in hooks.cycle_observations(old, after.data):
            metrics.CYCLE_SECONDS.labels(cycle).observe(seconds)
        for kind in hooks.sla_breaches(old, after.data):
            metrics.SLA_BREACHES.labels(kind).inc()
    except Exception:
        log.exception("business metrics of %s failed", after.saga_key)


@dataclass(frozen=True, slots=True)
class _Step:
    """One saga's step with everything it writes, built before anything is staged."""

    key: StoreKey
    before: SagaState | None
    decision: Decision
    raw_state: bytes | None  # computed only when the task checks state sizes
    outputs: list[OutRecord]
    learnt: list[tuple[str, str]]  # correlations (id kind, id value) -> this saga
    commands: list[SagaCommand]
