"""A transaction whose commit fails is rolled back and re-run: nothing lost, nothing doubled."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from engine.kafka.client import KafkaError, TransactionalProducer
from engine.kafka.client import Producer as PlainProducer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import OutRecord
from engine.runtime.app import Engine
from engine.runtime.names import TopicNames
from engine.workload.histories import HistoryOptions, deal_history, master_data
from tests.integration.engine_support import (
    all_completed,
    engine_settings,
    publish_all,
    read_commands,
    read_topic_values,
    wait_for_states,
)

pytestmark = pytest.mark.kafka
DEALS = [f"RB-{i}" for i in range(12)]


async def test_failed_commits_roll_back_and_retry_without_duplicates(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    names = TopicNames(settings.topic_prefix)
    await publish_all(settings, master_data(DEALS))
    options = HistoryOptions(base_time=datetime.now(UTC))
    await publish_all(settings, [e for d in DEALS for e in deal_history(d, options)])
    garbage = PlainProducer(KafkaConnection.from_settings(settings).options())
    await garbage.start()
    try:
        await garbage.send_all(
            [OutRecord(names.events("crm"), f"junk-{i}".encode(), b"\x00junk") for i in range(5)]
        )
    finally:
        await garbage.stop()

    real_commit = TransactionalProducer.commit
    calls = Counter[str]()

    async def flaky_commit(self: TransactionalProducer, offsets, group_id):  # type: ignore[no-untyped-def]
        calls["commit"] += 1
        if calls["commit"] % 3 == 1:  # every third commit fails after its records were sent
            calls["failed"] += 1
            raise KafkaError("injected commit failure")
        await real_commit(self, offsets, group_id)

    monkeypatch.setattr(TransactionalProducer, "commit", flaky_commit)
    engine = Engine(settings, worker_id="rollback", http=False)
    await engine.start()
    try:
        final = await wait_for_states(settings, all_completed(len(DEALS)), timeout_s=120)
    finally:
        await engine.stop()
    assert calls["failed"] >= 3
    assert all_completed(len(DEALS))(final)
    keys = Counter(c.header.idempotency_key for c in await read_commands(settings))
    assert [k for k, n in keys.items() if n > 1] == []
    dead = await read_topic_values(settings, [names.dlq(names.events("crm"))])
    assert len(dead) == 5  # each garbage record dead-lettered exactly once
    assert engine.worker.processor.counts["dead_lettered"] == 5
