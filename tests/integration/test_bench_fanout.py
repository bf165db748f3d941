"""The bench's offline count of the records the engine writes equals what a worker writes."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from engine.bench.fanout import NAMES, records_written
from engine.bench.kafka_io import committed_total, publish_burst
from engine.bench.workload import build_records, deal_ids
from engine.runtime.names import TARGETS, TopicNames
from engine.runtime.worker import Worker
from engine.workload.histories import HistoryOptions
from tests.integration.engine_support import engine_settings, read_topic_values

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]


async def test_the_offline_count_is_what_a_worker_writes(kafka_bootstrap: str, unique: str) -> None:
    records = build_records(deal_ids(unique, "f", 6), HistoryOptions(base_time=datetime.now(UTC)))
    offline = records_written([], records).by_topic
    settings = await engine_settings(kafka_bootstrap, unique)
    names = TopicNames(settings.topic_prefix)
    options = {"bootstrap_servers": kafka_bootstrap}
    await publish_burst(options, settings.topic_prefix, records)
    worker = Worker(settings, worker_id="fanout")
    running = asyncio.create_task(worker.run())
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        # Every input record, and every record forwarded to the inbox, processed.
        target = len(records) + offline[NAMES.logical(NAMES.inbox)]
        consumed = {*names.inbound, names.inbox}
        for _ in range(900):  # at most 90 s
            if await committed_total(admin, settings.group_id, consumed) >= target:
                break
            await asyncio.sleep(0.1)
        assert await committed_total(admin, settings.group_id, consumed) == target
    finally:
        await admin.close()
        worker.request_stop()
        await asyncio.wait_for(running, 30)
    topics = [
        *(names.commands(t) for t in TARGETS),
        names.status,
        names.analytics,
        names.correlation,
        names.inbox,
    ]
    online = Counter(names.logical(t) for t, _ in await read_topic_values(settings, topics))
    states = len(await read_topic_values(settings, [names.state]))
    # The worker reads each input topic's partitions in its own order, so a deal's events on
    # different topics may come in another order than the count's; a saga parks an early one
    # and may then report two transitions in one status. Hence within 10%, topic by topic.
    counted = {t: n for t, n in offline.items() if t != NAMES.logical(NAMES.state)}
    assert set(online) == set(counted)
    for topic, n in counted.items():
        assert online[topic] == pytest.approx(n, rel=0.10), topic
    # One changelog record per saga changed per commit: the worker commits at least as often
    # as the count's batches, so it writes at least as many.
    assert states >= offline[NAMES.logical(NAMES.state)] > 0
