"""What a task does after a failed commit (pure: no Kafka, tested on its own).

A fenced commit is only a takeover when the group moved on: the partition then has a new
owner, whose producer start fenced ours. The same error without a new generation means the
broker itself ended our transaction (its transaction timeout expired during an outage) or the
producer's sequence state is lost (`OutOfOrderSequenceNumber` after a broker restart): no one
else will take the partition, so the task must build a new producer itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.kafka.client import InvalidProducerEpoch, OutOfOrderSequenceNumber, ProducerFenced

# Consecutive failed commits after which the producer is replaced even when the error itself
# does not say it is dead: some fatal states only show as every later call failing.
RECREATE_AFTER_FAILURES = 3
# Consecutive failed commits from which /ready reports the task as failing.
NOT_READY_AFTER_FAILURES = 2
# A fence seen in an unchanged generation waits this long before the new producer starts, so
# a zombie that was frozen past its session learns from its next heartbeat that it is out.
FENCE_GRACE_S = 3.0
# Retry delays of a recovery that itself failed (broker still unreachable), capped.
RETRY_BASE_S = 1.0
RETRY_CAP_S = 15.0

PRODUCER_FATAL = (ProducerFenced, InvalidProducerEpoch, OutOfOrderSequenceNumber)


class Action(StrEnum):
    RETRY = "retry"  # abort, rewind, try the batch again with the same producer
    RECREATE = "recreate"  # drop the producer; a new one fences, aborts; restore and resume
    DROP = "drop"  # a newer owner has the partition: stop reading it until reassigned


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    delay_s: float = 0.0


def decide(
    exc: BaseException, *, producer_broken: bool, generation_moved: bool, failures: int
) -> Decision:
    """The action after commit failure number `failures` (1 = first) in a row."""
    name = type(exc).__name__
    if isinstance(exc, ProducerFenced | InvalidProducerEpoch) and generation_moved:
        return Decision(Action.DROP, f"{name}: fenced by the partition's new owner")
    if isinstance(exc, ProducerFenced | InvalidProducerEpoch):
        return Decision(
            Action.RECREATE, f"{name} without a group change (transaction timed out)", FENCE_GRACE_S
        )
    if isinstance(exc, PRODUCER_FATAL) or producer_broken:
        return Decision(Action.RECREATE, f"{name}: the producer cannot send any more")
    if failures >= RECREATE_AFTER_FAILURES:
        return Decision(Action.RECREATE, f"{failures} commits failed in a row, last: {name}")
    return Decision(Action.RETRY, f"commit failed: {name}")


def retry_delay_s(attempt: int) -> float:
    """Wait before recovery attempt `attempt` (0 = first retry after a failed recovery)."""
    return float(min(RETRY_CAP_S, RETRY_BASE_S * 2**attempt))
