"""An event type the catalog does not allow on a topic is dead-lettered at once with the reason,
not held for the correlation window (which would hold back the partition's offset)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from engine.codec import encode, headers_for
from engine.contracts import ProjectCreated
from engine.dlq.reader import read_dead_letters
from engine.kafka.client import Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import OutRecord
from engine.runtime.app import Engine
from engine.runtime.names import TopicNames
from engine.workload.histories import HistoryOptions, closed_won, deal_history
from tests.integration.engine_support import engine_settings, states_of, wait_for_states

pytestmark = pytest.mark.kafka


async def test_a_foreign_event_type_is_dead_lettered_without_the_correlation_wait(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("Q2C_HTTP_ENABLED", "false")
    # A correlation window far longer than this test may run: a held record would show.
    settings = await engine_settings(kafka_bootstrap, unique, correlation_wait_s=3600.0)
    names = TopicNames(settings.topic_prefix)
    crm = names.events("crm")
    opts = HistoryOptions(base_time=datetime.now(UTC))
    # An ERP event for an unknown project, written to the CRM topic, then a good deal after it
    # on the same partition.
    foreign = next(e for e in deal_history("D-x", opts) if isinstance(e, ProjectCreated))
    foreign = foreign.model_copy(update={"deal_id": "D-unknown"})
    won = closed_won("D-good", opts)
    producer = Producer(KafkaConnection.from_settings(settings).options())
    await producer.start()
    try:
        for model in (foreign, won):
            await producer.send_and_wait(
                OutRecord(crm, b"D-same", encode(model), tuple(headers_for(model)), 0)
            )
    finally:
        await producer.stop()
    engine = Engine(settings, worker_id="w-admission")
    await engine.start()
    try:
        final = await wait_for_states(
            settings, lambda s: "D-good" in states_of(s, "quote-to-cash"), timeout_s=90
        )
        dead = []
        for _ in range(30):  # bounded: the DLQ write commits with the same transaction
            dead = await read_dead_letters(
                KafkaConnection.from_settings(settings).options(), [names.dlq(crm)]
            )
            if dead:
                break
            await asyncio.sleep(1.0)
    finally:
        await engine.stop()
    assert "D-good" in states_of(final, "quote-to-cash")  # the partition moved on
    assert len(dead) == 1
    message = dict(dead[0].headers)["__connect.errors.exception.message"].decode()
    assert "io.q2c.ProjectCreated is not allowed on q2c.crm.events by the topic catalog" in message
