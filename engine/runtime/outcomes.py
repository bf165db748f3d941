"""What happened to the records of an open transaction, counted only once it commits.

A transaction that aborts is re-read and handled again; counting attempts would report a
record both as processed and, on the retry, again (or dead-lettered twice). Counters and
metrics therefore reflect committed outcomes only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from engine.dlq.headers import DeadLetterStage
from engine.observability import metrics


@dataclass
class Outcomes:
    """Pending outcomes of one task's open transaction."""

    _pending: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def processed(self, topic: str, event_type: str) -> None:
        self._pending[("processed", topic, event_type)] += 1

    def forwarded(self, topic: str) -> None:
        self._pending[("forwarded", topic, "")] += 1

    def dead_lettered(self, topic: str, stage: DeadLetterStage) -> None:
        self._pending[("dead_lettered", topic, stage)] += 1

    def command(self, command_type: str, target: str) -> None:
        self._pending[("command", command_type, target)] += 1

    def commit(self, totals: Counter[str]) -> None:
        """The transaction committed: add its outcomes to `totals` and the metrics."""
        for (kind, a, b), n in self._pending.items():
            if kind == "processed":
                metrics.RECORDS_PROCESSED.labels(a, b).inc(n)
            elif kind == "forwarded":
                metrics.RECORDS_FORWARDED.labels(a).inc(n)
            elif kind == "dead_lettered":
                metrics.RECORDS_DEAD_LETTERED.labels(a, b).inc(n)
            else:
                metrics.COMMANDS_EMITTED.labels(a, b).inc(n)
                continue
            totals[kind] += n
        self._pending.clear()

    def discard(self) -> None:
        """The transaction aborted: its records will be handled (and counted) again."""
        self._pending.clear()
