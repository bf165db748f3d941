"""How many records the engine writes per input event, counted offline (no Kafka).

The raw pipes copy one record per record read; the engine writes a command, a status change
and its analytics copy, correlation entries and one changelog record per saga changed. The
bench runs the raw pipe once more writing this many records per event: the share of its rate
that pipe keeps is what aiokafka alone allows any engine writing the engine's records, the
ceiling of the engine's throughput ratio on this client.

The count is the engine's as it drains a backlog: correlation entries are written again until
the worker's reader has read them back (here it never has), so they are an upper bound.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from engine.bench.workload import BenchRecord
from engine.kafka.records import InRecord, OutRecord
from engine.runtime.names import TopicNames
from engine.runtime.processor import Processor
from engine.runtime.task import Task
from engine.runtime.worker import new_store

BATCH = 500  # the engine's default max_batch: a saga changed twice in a batch writes one state
NAMES = TopicNames("fanout.")


@dataclass(frozen=True)
class Written:
    """What the engine wrote for `events` input events: records by logical topic (the
    changelog's under the state topic's name)."""

    events: int
    by_topic: Counter[str]

    @property
    def per_event(self) -> float:
        return sum(self.by_topic.values()) / max(self.events, 1)


def records_written(warmup: Sequence[BenchRecord], measured: Sequence[BenchRecord]) -> Written:
    """The records the engine writes for `measured`, once `warmup` is processed: every
    record's outputs (forwards to the inbox are processed again, as the worker reads them
    back) plus one changelog record per saga changed in each batch."""
    now = datetime.now(UTC)
    processor = Processor(NAMES, clock=lambda: now, worker_id="fanout")
    task = Task(partition=0, producer=None)  # type: ignore[arg-type]  # never sends
    task.store = new_store()
    offsets = itertools.count()  # one partition per topic here: increasing offsets suffice
    _feed(processor, task, [_consumed(r, next(offsets)) for r in warmup], offsets)
    measured_in = [_consumed(r, next(offsets)) for r in measured]
    return Written(len(measured), _feed(processor, task, measured_in, offsets))


def _consumed(rec: BenchRecord, offset: int) -> InRecord:
    return InRecord(NAMES.prefix + rec.topic, 0, offset, rec.key, rec.value, rec.headers, 0)


def _feed(
    processor: Processor, task: Task, records: list[InRecord], offsets: Iterator[int]
) -> Counter[str]:
    """Process `records` in batches as the worker would; returns the records written."""
    written: Counter[str] = Counter()
    pending = records
    for _ in range(100):  # forwards of forwards are bounded by the routing; so is this loop
        forwarded: list[InRecord] = []
        for start in range(0, len(pending), BATCH):
            outputs: list[OutRecord] = []
            for rec in pending[start : start + BATCH]:
                outputs += processor.handle(task, rec, now=processor.clock())
            # As the worker's loop does: records that waited for a correlation learnt meanwhile.
            released, _ = processor.route_waiting(task, processor.clock(), max_wait_s=3600.0)
            outputs += released
            written.update(NAMES.logical(out.topic) for out in outputs)
            written[NAMES.logical(NAMES.state)] += len(task.store.staged_changelog())
            task.store.commit()
            forwarded += [
                InRecord(out.topic, 0, next(offsets), out.key, out.value, out.headers, 0)
                for out in outputs
                if out.topic == NAMES.inbox
            ]
        if not forwarded:
            break
        pending = forwarded
    return written


__all__ = ["Written", "records_written"]
