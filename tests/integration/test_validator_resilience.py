"""The account validator rides out a rebalance under a batch; when it dies, the process exits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from engine.kafka.client import CommitFailedError, Consumer
from engine.kafka.records import TopicPartition
from engine.masterdata.responder import AccountValidator
from engine.runtime.app import Engine
from engine.workload.histories import HistoryOptions, deal_history, master_data
from tests.integration.engine_support import (
    all_completed,
    engine_settings,
    publish_all,
    wait_for_states,
)

pytestmark = pytest.mark.kafka


async def test_commit_lost_to_a_rebalance_does_not_stop_validation(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deals = [f"VR-{i}" for i in range(6)]
    settings = await engine_settings(kafka_bootstrap, unique)
    await publish_all(settings, master_data(deals))
    real_commit = Consumer.commit
    failed: list[int] = []

    async def rebalanced_under_first_batch(
        self: Consumer, offsets: dict[TopicPartition, int]
    ) -> None:
        if not failed:  # the first batch loses its commit to a rebalance
            failed.append(len(offsets))
            raise CommitFailedError("group rebalanced")
        await real_commit(self, offsets)

    monkeypatch.setattr(Consumer, "commit", rebalanced_under_first_batch)
    engine = Engine(settings, worker_id="vr", http=False)
    await engine.start()
    try:
        options = HistoryOptions(base_time=datetime.now(UTC))
        await publish_all(settings, [e for d in deals for e in deal_history(d, options)])
        final = await wait_for_states(settings, all_completed(len(deals)), timeout_s=120)
        assert engine.validator.task is not None and not engine.validator.task.done()
    finally:
        await engine.stop()
    assert len(failed) == 1
    assert all_completed(len(deals))(final)


async def test_engine_exits_with_the_error_when_the_validator_dies(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    await publish_all(settings, master_data(["VD-1"]))

    async def broken(self: AccountValidator, *_: object) -> None:
        raise RuntimeError("validator bug")

    monkeypatch.setattr(AccountValidator, "answer", broken)
    engine = Engine(settings, worker_id="vd", http=False)
    running = asyncio.create_task(engine.run_until_stopped())
    options = HistoryOptions(base_time=datetime.now(UTC))
    await publish_all(settings, deal_history("VD-1", options))
    done, _ = await asyncio.wait({running}, timeout=90)
    if not done:  # clean up before failing: the worker would otherwise run on
        engine.worker.request_stop()
        await asyncio.wait({running}, timeout=30)
    assert done, "the engine kept running after its validator died"
    with pytest.raises(RuntimeError, match="validator bug"):
        running.result()
    # The worker stopped with it (and left its group), instead of running on without answers.
    assert engine.worker.tasks == {}
