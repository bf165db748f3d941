"""A worker whose transactional id is taken over mid-transaction is fenced, deterministically.

The SIGSTOP test in test_engine_faults shows a woken zombie causes no duplicates, but where the
freeze lands (mid-transaction or between batches) is up to the scheduler. Here the takeover is
injected exactly between a transaction's sends and its commit.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from engine.kafka.client import TransactionalProducer
from engine.kafka.connection import client_options
from engine.kafka.records import TopicPartition
from engine.runtime.app import Engine
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


def _fenced_aborts() -> float:
    return REGISTRY.get_sample_value("q2c_transaction_aborts_total", {"reason": "fenced"}) or 0.0


async def test_takeover_mid_transaction_fences_the_old_owner(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    await publish_all(settings, master_data(DEALS))
    options = HistoryOptions(base_time=datetime.now(UTC))
    events = [e for d in DEALS for e in deal_history(d, options)]

    real_commit = TransactionalProducer.commit
    taken_over: list[str] = []

    async def taken_over_before_commit(
        self: TransactionalProducer, offsets: dict[TopicPartition, int] | None, group_id: str
    ) -> None:
        if not taken_over and offsets:
            # A new owner starts with this transactional id while our records are in flight.
            taken_over.append(self.transactional_id)
            new_owner = TransactionalProducer(
                client_options(settings), transactional_id=self.transactional_id
            )
            await new_owner.start()
            await new_owner.stop()
        await real_commit(self, offsets, group_id)

    monkeypatch.setattr(TransactionalProducer, "commit", taken_over_before_commit)
    fenced_before = _fenced_aborts()
    zombie = Engine(settings, worker_id="zombie", http=False)
    successor: Engine | None = None
    await zombie.start()
    try:
        await zombie.wait_ready()
        await publish_all(settings, events)
        for _ in range(600):  # bounded: 60 s for the first commit to be fenced and handled
            if _fenced_aborts() > fenced_before:
                break
            await asyncio.sleep(0.1)
        assert taken_over, "no transaction reached its commit"
        assert _fenced_aborts() == fenced_before + 1
        # The fenced worker drops the task (and pauses its partitions) instead of retrying
        # with a dead producer; it keeps serving its other partitions.
        fenced_task = int(taken_over[0].rsplit(".", 1)[1])
        assert fenced_task not in zombie.worker.tasks
        assert zombie.worker.tasks
        # A second worker joins: the rebalance gives the fenced partition a live owner again,
        # which re-reads what the fenced transaction had consumed.
        successor = Engine(settings, worker_id="successor", http=False)
        await successor.start()
        final = await wait_for_states(settings, all_completed(len(DEALS)), timeout_s=120)
    finally:
        if successor is not None:
            await successor.stop()
        await zombie.stop()
    assert all_completed(len(DEALS))(final)
    keys = Counter(c.header.idempotency_key for c in await read_commands(settings))
    assert [k for k, n in keys.items() if n > 1] == []
