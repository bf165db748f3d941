"""A rebalance keeps a task's store when its changelog has not moved, and restores it when
anybody else wrote to it in between."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from engine.kafka.client import TransactionalProducer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import OutRecord, TopicPartition
from engine.runtime.app import Engine
from engine.runtime.names import TopicNames
from engine.runtime.store import changelog_key
from engine.saga.codec import state_to_bytes
from engine.saga.model import SagaState
from engine.workload.histories import HistoryOptions, deal_history, master_data
from tests.integration.engine_support import (
    all_completed,
    engine_settings,
    publish_all,
    read_commands,
    wait_for_states,
)

pytestmark = pytest.mark.kafka


def _kept() -> float:
    return REGISTRY.get_sample_value("q2c_state_stores_kept_total") or 0.0


async def _until(condition: object, timeout_s: float = 60.0) -> None:
    for _ in range(int(timeout_s * 10)):  # bounded
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


async def test_joining_worker_leaves_the_others_stores_in_place(
    kafka_bootstrap: str, unique: str
) -> None:
    deals = [f"KS-{i}" for i in range(12)]
    settings = await engine_settings(kafka_bootstrap, unique)
    await publish_all(settings, master_data(deals))
    options = HistoryOptions(base_time=datetime.now(UTC))
    first = Engine(settings, worker_id="first", http=False)
    second: Engine | None = None
    await first.start()
    try:
        await first.wait_ready()
        await publish_all(settings, [e for d in deals[:6] for e in deal_history(d, options)])
        await wait_for_states(settings, all_completed(6), timeout_s=120)
        tasks_before = dict(first.worker.tasks)
        owned_before = set(tasks_before)
        kept_before = _kept()
        second = Engine(settings, worker_id="second", http=False)
        await second.start()
        await _until(
            lambda: (
                first.worker.tasks
                and second.worker.tasks
                and len(set(first.worker.tasks) | set(second.worker.tasks)) == len(owned_before)
                and not set(first.worker.tasks) & set(second.worker.tasks)
            )
        )
        # Every partition the first worker still owns kept its task and store: no restore.
        assert all(first.worker.tasks[p] is tasks_before[p] for p in first.worker.tasks)
        assert _kept() - kept_before >= len(first.worker.tasks)
        await publish_all(settings, [e for d in deals[6:] for e in deal_history(d, options)])
        final = await wait_for_states(settings, all_completed(12), timeout_s=120)
    finally:
        if second is not None:
            await second.stop()
        await first.stop()
    assert all_completed(12)(final)
    keys = [c.header.idempotency_key for c in await read_commands(settings)]
    assert len(keys) == len(set(keys))


async def test_a_changelog_written_by_another_owner_is_restored_not_kept(
    kafka_bootstrap: str, unique: str
) -> None:
    deals = [f"KR-{i}" for i in range(6)]
    settings = await engine_settings(kafka_bootstrap, unique)
    names = TopicNames(settings.topic_prefix)
    await publish_all(settings, master_data(deals))
    options = HistoryOptions(base_time=datetime.now(UTC))
    engine = Engine(settings, worker_id="w", http=False)
    await engine.start()
    try:
        await engine.wait_ready()
        await publish_all(settings, [e for d in deals for e in deal_history(d, options)])
        await wait_for_states(settings, all_completed(6), timeout_s=120)
        worker = engine.worker
        partitions = sorted(worker.tasks)
        assigned = {TopicPartition(t, p) for t in worker.input_topics for p in partitions}
        before = dict(worker.tasks)
        kept_before = _kept()
        # A rebalance in which another owner committed a state to partition 0's changelog.
        await worker._on_revoked(assigned)
        other = TransactionalProducer(
            KafkaConnection.from_settings(settings).options(), transactional_id=f"{unique}-x"
        )
        await other.start()
        try:
            await other.begin()
            foreign = SagaState("quote-to-cash", "FOREIGN-1", "validating")
            await other.send_all(
                [
                    OutRecord(
                        names.state,
                        changelog_key(("quote-to-cash", "FOREIGN-1")),
                        state_to_bytes(foreign),
                        partition=0,
                    )
                ]
            )
            await other.commit(None, settings.group_id)
        finally:
            await other.stop()
        await worker._on_assigned(assigned)
        assert _kept() - kept_before == len(partitions) - 1
        assert worker.tasks[0] is not before[0]  # restored: it sees the other owner's write
        assert worker.tasks[0].store.get(("quote-to-cash", "FOREIGN-1")) == foreign
        assert all(worker.tasks[p] is before[p] for p in partitions if p != 0)
    finally:
        await engine.stop()
