"""A saga state that outgrows the record limit dead-letters the event that grew it; the
partition goes on (Kafka would refuse the record and every retry of its transaction)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from engine.dlq.reader import read_dead_letters
from engine.kafka.connection import KafkaConnection
from engine.runtime import limits
from engine.runtime.app import Engine
from engine.runtime.names import TopicNames
from engine.workload.histories import HistoryOptions, deal_history, master_data
from tests.integration.engine_support import (
    engine_settings,
    publish_all,
    states,
    states_of,
)

pytestmark = pytest.mark.kafka
DEALS = [f"LIM-{i}" for i in range(4)]
# A quote-to-cash state is ~1.2 KB after closed-won and ~1.4 KB after account-validated.
LIMIT = 1_250


async def test_the_event_that_outgrows_the_limit_is_dead_lettered_and_the_rest_goes_on(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_RECORD_BYTES", LIMIT)
    settings = await engine_settings(kafka_bootstrap, unique, correlation_wait_s=2.0)
    names = TopicNames(settings.topic_prefix)
    await publish_all(settings, master_data(DEALS))
    # Closed-won only: the validator's account-validated reply is the step that outgrows it.
    options = HistoryOptions(base_time=datetime.now(UTC))
    events = [deal_history(d, options)[0] for d in DEALS]
    assert {e.envelope.event_type for e in events} == {"closed-won"}
    engine = Engine(settings, worker_id="lim", http=False)
    await engine.start()
    try:
        await publish_all(settings, events)
        counts = engine.worker.processor.counts

        def accounted() -> bool:  # every input applied or dead-lettered, replies included
            done = counts["processed"] + counts["dead_lettered"]
            return done >= len(events) + engine.validator.answered >= 2 * len(DEALS)

        for _ in range(240):  # bounded: 120 s
            if accounted():
                break
            await asyncio.sleep(0.5)
        assert accounted(), (dict(counts), len(events), engine.validator.answered)
        assert not any(t.check_states for t in engine.worker.tasks.values())
        final = states_of(await states(settings), "quote-to-cash")
    finally:
        await engine.stop()
    # The step that would have grown each deal past the limit never applied...
    assert final == {deal: "validating" for deal in DEALS}
    # ...and each account-validated reply sits in the dead-letter topic, saying why.
    dead = await read_dead_letters(
        KafkaConnection.from_settings(settings).options(), [names.dlq(names.events("masterdata"))]
    )
    assert len(dead) == len(DEALS)
    assert {d.error_name for d in dead} == {"RecordTooLarge"}
    assert all("over the 1,250 limit" in d.message and "quote-to-cash" in d.message for d in dead)
