"""A partition whose task cannot be opened when it is assigned (seen after a broker stall: the
new transactional producer's start found no broker metadata and raised inside the rebalance
callback) is retried by the worker, not left assigned and unprocessed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from engine.kafka.client import Producer
from engine.runtime.app import Engine
from engine.runtime.worker import Worker
from engine.workload.histories import HistoryOptions, deal_history, master_data
from tests.integration.engine_support import (
    all_completed,
    engine_settings,
    publish_all,
    read_commands,
    wait_for_states,
)

pytestmark = pytest.mark.kafka
DEALS = [f"AR-{i}" for i in range(12)]  # enough keys that every partition gets deals


async def test_a_task_that_fails_to_open_on_assignment_is_retried_until_it_runs(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    await publish_all(settings, master_data(DEALS))
    options = HistoryOptions(base_time=datetime.now(UTC))
    await publish_all(settings, [e for d in DEALS for e in deal_history(d, options)])

    real = Worker._task_producer
    failures = Counter[int]()

    async def first_start_fails(self: Worker, partition: int) -> Producer:
        if partition in (0, 3) and failures[partition] < 2:
            failures[partition] += 1
            raise AssertionError("Did we not perform bootstrap?")  # what aiokafka raised
        return await real(self, partition)

    monkeypatch.setattr(Worker, "_task_producer", first_start_fails)
    engine = Engine(settings, worker_id="assign-retry", http=False)
    await engine.start()
    try:
        await engine.wait_ready()
        ready, why = engine.worker.readiness()
        out_of_service = not ready and "not opened after the assignment" in (why or "")
        final = await wait_for_states(settings, all_completed(len(DEALS)), timeout_s=120)
        assert engine.worker.readiness() == (True, None)
    finally:
        await engine.stop()
    assert failures == {0: 2, 3: 2}  # the first start and the first retry of each failed
    assert out_of_service  # /ready said why while the two tasks were out of service
    assert all_completed(len(DEALS))(final)
    keys = Counter(c.header.idempotency_key for c in await read_commands(settings))
    assert [k for k, n in keys.items() if n > 1] == []
