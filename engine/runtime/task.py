"""A task: one partition number of the co-partitioned input topics, its store and its producer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.kafka.client import Producer
from engine.kafka.records import TopicPartition
from engine.runtime.outcomes import Outcomes
from engine.runtime.store import SagaStore
from engine.runtime.waiting import WaitRoom

if TYPE_CHECKING:
    from engine.runtime.checkpoint import Checkpoint


@dataclass
class Task:
    """Everything one worker owns for partition `partition`.

    In exactly-once mode `producer` is transactional with id `<group>.task.<partition>`, so a
    new owner's start fences a zombie owner of the same partition.
    """

    partition: int
    producer: Producer
    store: SagaStore = field(default_factory=SagaStore)
    outcomes: Outcomes = field(default_factory=Outcomes)
    # Records waiting for a correlation (source id -> saga key) to become known.
    waiting: WaitRoom = field(default_factory=WaitRoom)
    waiting_checked_at: float = 0.0
    # Next offset to commit per input partition once nothing waits there.
    consumed: dict[TopicPartition, int] = field(default_factory=dict)
    # What this task last committed per input partition (for rewinds after a failed commit).
    committed_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    # The changelog partition's read_committed end offset as this task's store knows it: when
    # the partition comes back after a rebalance with that same end, nobody else wrote to it
    # and the store is current (None: unknown, restore).
    changelog_end: int | None = None
    # Set when a commit found a saga state over the record limit: the batch re-runs with every
    # step's state size checked, so the event that grew it is dead-lettered, not retried forever.
    check_states: bool = False
    # The group generation the partition was assigned in: a fence in the same generation was
    # not a takeover (see engine.runtime.recovery).
    generation: int = -1
    # Commits failed in a row, and the last failure (for /ready and the recovery decision).
    failures: int = 0
    last_error: str = ""
    # The work since the last commit (set by the worker, per processing mode).
    checkpoint: Checkpoint = field(init=False, repr=False)

    def suspend(self) -> None:
        """Forget everything not committed, keeping the store for a possible reassignment."""
        self.store.abort()
        self.outcomes.discard()
        self.checkpoint.reset()
        self.waiting.clear()
        self.consumed.clear()

    def commit_offset(self, tp: TopicPartition) -> int:
        """Where the group's offset for `tp` may go: past what was consumed, not past a waiter."""
        held = self.waiting.hold_offset(tp)
        done = self.consumed[tp]
        return done if held is None else min(done, held)
