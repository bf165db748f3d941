"""The Publisher against a real broker: topic, key, headers and value round-trip."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from typer.testing import CliRunner

from engine.cli.main import app
from engine.codec import decode, headers_for
from engine.contracts import EVENT_MODELS, ClosedWon, Event, event_topic
from engine.contracts.validation import ContractError
from engine.publisher import Publisher
from engine.settings import Settings
from engine.topics import ensure_topics

pytestmark = pytest.mark.kafka

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(), parse_float=Decimal)
    return data


async def _topic(admin: AIOKafkaAdminClient, settings: Settings, event_type: str) -> str:
    # The topic catalog is applied elsewhere; create the one domain topic this test needs.
    name = event_topic(event_type, settings.topic_prefix)
    await admin.create_topics([NewTopic(name, 3, 1)])
    return name


async def _consume(bootstrap: str, topic: str, expect: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    records: list[Any] = []
    try:
        for _ in range(30):  # bounded: 30 polls of 500 ms at most
            batch = await consumer.getmany(timeout_ms=500)
            records += [m for msgs in batch.values() for m in msgs]
            if len(records) >= expect:
                break
    finally:
        await consumer.stop()
    return records


async def test_publish_consume_decode(
    kafka_bootstrap: str, unique: str, admin: AIOKafkaAdminClient
) -> None:
    settings = Settings(bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{unique}.")
    topic = await _topic(admin, settings, "closed-won")
    event = EVENT_MODELS["closed-won"].model_validate(fixture("closed-won"))
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    async with Publisher(settings) as pub:
        meta = await pub.publish(event, traceparent=trace)
        from_dict = await pub.publish_dict(
            "closed-won",
            {k: v for k, v in fixture("closed-won").items() if k != "envelope"},
            source_system="salesforce",
        )
    assert meta.topic == topic == f"t{unique}.q2c.crm.events"

    records = await _consume(kafka_bootstrap, topic, expect=2)
    assert len(records) == 2
    first = next(r for r in records if r.offset == meta.offset and r.partition == meta.partition)
    assert first.key == b"deal-1001"
    decoded = decode(first.value, topic=first.topic, partition=first.partition, offset=first.offset)
    assert decoded == event
    headers = dict(first.headers)
    expected = dict(headers_for(event, traceparent=trace))
    assert headers == expected  # type, id, correlation, fingerprint, the caller's trace
    # Same key -> same partition: both deal-1001 records are ordered together.
    assert from_dict.partition == meta.partition


async def test_master_data_goes_to_its_compacted_topic(
    kafka_bootstrap: str, unique: str, admin: AIOKafkaAdminClient
) -> None:
    settings = Settings(bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{unique}.")
    topic = await _topic(admin, settings, "legal-entity-upserted")
    async with Publisher(settings) as pub:
        meta = await pub.publish_dict("legal-entity-upserted", fixture("legal-entity-upserted"))
    assert meta.topic == topic == f"t{unique}.q2c.masterdata.legal-entities"
    (record,) = await _consume(kafka_bootstrap, topic, expect=1)
    assert record.key == b"LE-DE-01"
    event = decode(
        record.value, topic=record.topic, partition=record.partition, offset=record.offset
    )
    assert isinstance(event, Event) and event.EVENT_TYPE == "legal-entity-upserted"


async def test_publish_dict_refuses_bad_data_before_sending(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = Settings(bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{unique}.")
    data = fixture("closed-won")
    data["contract"]["end_date"] = "2020-01-01"
    async with Publisher(settings) as pub:
        with pytest.raises(ContractError, match="start_date must not be after end_date"):
            await pub.publish_dict("closed-won", data)


def test_cli_publishes_a_file(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{unique}.")

    async def create() -> str:
        # `q2c publish` checks the whole catalog is there, as after `q2c topics apply`.
        await ensure_topics(settings)
        return event_topic("closed-won", settings.topic_prefix)

    topic = asyncio.run(create())
    monkeypatch.setenv("Q2C_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("Q2C_TOPIC_PREFIX", f"t{unique}.")
    file = FIXTURES / "closed-won.json"
    result = CliRunner().invoke(app, ["publish", "--type", "closed-won", "--file", str(file)])
    assert result.exit_code == 0, result.output
    assert f"to {topic} partition" in result.output
    (record,) = asyncio.run(_consume(kafka_bootstrap, topic, expect=1))
    decoded = decode(
        record.value, topic=record.topic, partition=record.partition, offset=record.offset
    )
    assert isinstance(decoded, ClosedWon) and decoded.deal_id == "deal-1001"
