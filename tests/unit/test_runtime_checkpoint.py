"""A task's checkpoint commits by size, age or idleness, writes outputs, changelog and offsets
together, and leaves nothing behind when it aborts (producers are fakes: no broker here)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable

import pytest

from engine.kafka.client import TransactionalProducer
from engine.kafka.records import Delivered, InRecord, OutRecord, TopicPartition
from engine.runtime.checkpoint import (
    AtLeastOnceCheckpoint,
    CommitPolicy,
    ExactlyOnceCheckpoint,
)
from engine.runtime.names import TopicNames
from engine.runtime.store import INPUT_OFFSETS_KEY, decode_input_offsets
from engine.runtime.task import Task
from engine.saga.model import SagaState

NAMES = TopicNames("t.")
TP = TopicPartition(NAMES.events("crm"), 2)


class FakeProducer(TransactionalProducer):
    """Records what a transaction did; `fail_on` names the call that raises."""

    def __init__(self, fail_on: str | None = None) -> None:  # no client: nothing connects
        self.calls: list[str] = []
        self.sent: list[OutRecord] = []
        self.committed_offsets: dict[TopicPartition, int] | None = None
        self.fail_on = fail_on

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name == self.fail_on:
            raise RuntimeError(f"{name} failed")

    async def begin(self) -> None:
        self._call("begin")

    async def send_all(self, records: Iterable[OutRecord]) -> list[Delivered]:
        self._call("send")
        self.sent = list(records)
        return [Delivered(r.topic, r.partition or 0, n) for n, r in enumerate(self.sent)]

    async def commit(self, offsets: dict[TopicPartition, int] | None, group_id: str) -> None:
        self._call("commit")
        self.committed_offsets = offsets

    async def abort(self) -> None:
        self._call("abort")


def _task(producer: FakeProducer) -> Task:
    return Task(partition=2, producer=producer)


def _rec(offset: int) -> InRecord:
    return InRecord(TP.topic, 2, offset, b"D-1", b"v", (), 0)


def _processed(task: Task, offset: int) -> tuple[list[OutRecord], list[InRecord]]:
    """What the processor leaves for one record: a staged state and one command."""
    task.store.stage(("quote-to-cash", "D-1"), SagaState("quote-to-cash", "D-1", f"s{offset}"))
    task.consumed[TP] = offset + 1
    return [OutRecord(NAMES.commands("erp"), b"D-1", f"cmd{offset}".encode())], [_rec(offset)]


def test_a_busy_checkpoint_commits_at_its_size_or_age_an_idle_one_at_once() -> None:
    task = _task(FakeProducer())
    checkpoint = ExactlyOnceCheckpoint(task, NAMES, Counter(), "g")
    policy = CommitPolicy(interval_s=3600, max_records=3)
    assert not checkpoint.due(policy, idle=True)  # nothing to commit
    for offset in range(2):
        checkpoint.stage(*_processed(task, offset))
    assert not checkpoint.due(policy, idle=False)
    assert checkpoint.due(policy, idle=True)
    checkpoint.stage(*_processed(task, 2))
    assert checkpoint.due(policy, idle=False)
    assert checkpoint.due(CommitPolicy(interval_s=0.0, max_records=100), idle=False)


def test_exactly_once_writes_outputs_changelog_and_offsets_in_one_transaction() -> None:
    producer = FakeProducer()
    task = _task(producer)
    checkpoint = ExactlyOnceCheckpoint(task, NAMES, Counter(), "g")
    for offset in (7, 8):
        checkpoint.stage(*_processed(task, offset))
    delivered, offsets = asyncio.run(checkpoint.commit())
    checkpoint.committed(delivered, offsets)
    assert producer.calls == ["begin", "send", "commit"]
    assert producer.committed_offsets == offsets == {TP: 9}
    commands, (changelog, offsets_record) = producer.sent[:2], producer.sent[2:]
    assert [c.value for c in commands] == [b"cmd7", b"cmd8"]
    assert changelog.topic == NAMES.state and b'"s8"' in (changelog.value or b"")  # last state
    assert offsets_record.key == INPUT_OFFSETS_KEY
    assert decode_input_offsets(offsets_record.value or b"") == {TP: 9}
    state = task.store.get(("quote-to-cash", "D-1"))
    assert state is not None and state.state == "s8" and not task.store.dirty
    assert task.committed_offsets == {TP: 9} and checkpoint.empty
    assert task.changelog_end == 3 + 2  # past the offsets record and the commit marker


@pytest.mark.parametrize("fail_on", ["send", "commit"])
def test_an_aborted_exactly_once_checkpoint_leaves_the_task_as_it_was(fail_on: str) -> None:
    producer = FakeProducer(fail_on)
    task = _task(producer)
    checkpoint = ExactlyOnceCheckpoint(task, NAMES, Counter(), "g")
    checkpoint.stage(*_processed(task, 7))
    with pytest.raises(RuntimeError, match=f"{fail_on} failed"):
        asyncio.run(checkpoint.commit())
    asyncio.run(checkpoint.abort())
    assert producer.calls[-1] == "abort"
    assert task.store.get(("quote-to-cash", "D-1")) is None and not task.store.dirty
    assert task.committed_offsets == {} and checkpoint.empty


def test_at_least_once_hands_on_offsets_only_after_every_output_was_acknowledged() -> None:
    acked: list[dict[TopicPartition, int]] = []
    producer = FakeProducer("send")
    task = _task(producer)
    checkpoint = AtLeastOnceCheckpoint(task, NAMES, Counter(), acked.append)
    checkpoint.stage(*_processed(task, 4))
    with pytest.raises(RuntimeError):
        asyncio.run(checkpoint.commit())
    asyncio.run(checkpoint.abort())
    assert acked == [] and "abort" not in producer.calls  # no transaction to abort
    producer.fail_on = None
    checkpoint.stage(*_processed(task, 4))
    delivered, offsets = asyncio.run(checkpoint.commit())
    checkpoint.committed(delivered, offsets)
    assert acked == [{TP: 5}]
    assert all(r.key != INPUT_OFFSETS_KEY for r in producer.sent)  # the group has them
    assert "begin" not in producer.calls
