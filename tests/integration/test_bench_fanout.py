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


DEALS = 6


async def _processed(admin: AIOKafkaAdminClient, group: str, topics: set[str], n: int) -> int:
    """The group's committed total on `topics` once it reaches `n` (bounded: 60 s)."""
    for _ in range(600):
        done = await committed_total(admin, group, topics)
        if done >= n:
            return done
        await asyncio.sleep(0.1)
    return await committed_total(admin, group, topics)


async def test_the_offline_count_is_what_a_worker_writes(kafka_bootstrap: str, unique: str) -> None:
    records = build_records(
        deal_ids(unique, "f", DEALS), HistoryOptions(base_time=datetime.now(UTC))
    )
    offline = records_written([], records).by_topic
    settings = await engine_settings(kafka_bootstrap, unique)
    names = TopicNames(settings.topic_prefix)
    options = {"bootstrap_servers": kafka_bootstrap}
    worker = Worker(settings, worker_id="fanout")
    running = asyncio.create_task(worker.run())
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        # Round by round (the r-th event of every deal), each processed before the next: the
        # worker reads each input topic in its own order, and a deal's events on different
        # topics must reach it in the order the count takes them, or a saga parks an early one
        # and reports fewer transitions.
        for start in range(0, len(records), DEALS):
            await publish_burst(options, settings.topic_prefix, records[start : start + DEALS])
            end = min(start + DEALS, len(records))
            assert await _processed(admin, settings.group_id, set(names.inbound), end) == end
        # Every record forwarded to the inbox processed too.
        consumed = {*names.inbound, names.inbox}
        target = len(records) + offline[NAMES.logical(NAMES.inbox)]
        assert await _processed(admin, settings.group_id, consumed, target) == target
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
    corr, state = NAMES.logical(NAMES.correlation), NAMES.logical(NAMES.state)
    assert online - Counter({corr: online[corr]}) == +Counter(
        {t: n for t, n in offline.items() if t not in (corr, state)}
    )
    # The count writes a correlation entry again until it reads it back from the topic, as a
    # worker does while its reader lags (in a drain); this worker, fed round by round, had
    # read most of them back.
    assert 0 < online[corr] <= offline[corr]
    # One changelog record per saga changed per commit: the worker commits at least as often
    # as the count's batches, so it writes at least as many.
    assert states >= offline[NAMES.logical(NAMES.state)] > 0
