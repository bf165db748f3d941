"""A task whose producer is fenced or dies mid-transaction rebuilds itself, exactly once.

The SIGSTOP test in test_engine_faults shows a woken zombie causes no duplicates after a real
takeover (the group moved on). Here the failure is injected exactly between a transaction's
sends and its commit, with no group change: another producer takes the transactional id (what
the broker's transaction timeout does too), or the producer's sender dies with
OutOfOrderSequenceNumber (seen after a graceful broker restart). No reassignment will come, so
the worker must replace the producer itself, restore the task and resume.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from engine.kafka.client import OutOfOrderSequenceNumber, TransactionalProducer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import TopicPartition
from engine.runtime.app import Engine
from engine.settings import Settings
from engine.workload.histories import HistoryOptions, deal_history, master_data
from tests.integration.engine_support import (
    all_completed,
    engine_settings,
    publish_all,
    read_commands,
    wait_for_states,
)

pytestmark = pytest.mark.kafka
DEALS = [f"FZ-{i}" for i in range(10)]

Injection = Callable[[Settings, TransactionalProducer], Awaitable[None]]


async def _taken_over(settings: Settings, producer: TransactionalProducer) -> None:
    # Another producer starts with this transactional id while our records are in flight.
    other = TransactionalProducer(
        KafkaConnection.from_settings(settings).options(),
        transactional_id=producer.transactional_id,
    )
    await other.start()
    await other.stop()


async def _sender_dies(settings: Settings, producer: TransactionalProducer) -> None:
    # What aiokafka does when a produce response says OUT_OF_ORDER_SEQUENCE_NUMBER: the
    # sender task ends and the transaction state turns fatal for good.
    producer._producer._txn_manager.fatal_error(OutOfOrderSequenceNumber())
    raise OutOfOrderSequenceNumber()


def _recoveries() -> float:
    return REGISTRY.get_sample_value("q2c_task_recoveries_total") or 0.0


@pytest.mark.parametrize("inject", [_taken_over, _sender_dies], ids=["fenced", "out-of-order"])
async def test_failed_producer_mid_transaction_is_rebuilt_in_place(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch, inject: Injection
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    await publish_all(settings, master_data(DEALS))
    options = HistoryOptions(base_time=datetime.now(UTC))
    events = [e for d in DEALS for e in deal_history(d, options)]

    real_commit = TransactionalProducer.commit
    injected: list[str] = []

    async def failing_before_commit(
        self: TransactionalProducer, offsets: dict[TopicPartition, int] | None, group_id: str
    ) -> None:
        if not injected and offsets:
            injected.append(self.transactional_id)
            await inject(settings, self)
        await real_commit(self, offsets, group_id)

    monkeypatch.setattr(TransactionalProducer, "commit", failing_before_commit)
    recoveries = _recoveries()
    worker = Engine(settings, worker_id="only", http=False)
    await worker.start()
    try:
        await worker.wait_ready()
        await publish_all(settings, events)
        final = await wait_for_states(settings, all_completed(len(DEALS)), timeout_s=120)
        for _ in range(300):  # bounded: 30 s for the rebuilt task to be back in service
            if _recoveries() > recoveries:
                break
            await asyncio.sleep(0.1)
        generation = worker.worker._consumer.generation() if worker.worker._consumer else -1
        failed_task = int(injected[0].rsplit(".", 1)[1])
        # The same worker, the same group generation: it got the partition back by itself.
        assert failed_task in worker.worker.tasks
        assert worker.worker.tasks[failed_task].generation == generation
        assert worker.worker.readiness() == (True, None)
    finally:
        await worker.stop()
    assert injected, "no transaction reached its commit"
    assert _recoveries() == recoveries + 1
    assert all_completed(len(DEALS))(final)
    keys = Counter(c.header.idempotency_key for c in await read_commands(settings))
    assert [k for k, n in keys.items() if n > 1] == []
