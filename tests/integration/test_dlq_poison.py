"""A poison record among 1,000 good ones: dead-lettered with full headers, partition not stalled."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.codec import encode, headers_for
from engine.dlq.headers import Failure, dead_letter_headers
from engine.dlq.reader import read_dead_letters
from engine.kafka.client import Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import InRecord, OutRecord
from engine.runtime.app import Engine
from engine.runtime.names import TopicNames
from engine.workload.histories import HistoryOptions, closed_won
from tests.integration.engine_support import engine_settings, states_of, wait_for_states

pytestmark = pytest.mark.kafka
GOOD = 1000
POISON_PARTITION = 2


def header_names() -> set[str]:
    """Every header name engine/dlq/headers.py writes (taken from the function itself)."""
    dummy = InRecord("t", 0, 0, b"k", b"v", (), 0)
    return {k for k, _ in dead_letter_headers(dummy, Failure("E", "m", "process", "p", "t"))}


async def test_poison_record_is_dead_lettered_and_the_partition_keeps_flowing(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("Q2C_HTTP_ENABLED", "false")  # no HTTP listener needed here
    settings = await engine_settings(kafka_bootstrap, unique)
    names = TopicNames(settings.topic_prefix)
    topic = names.events("crm")
    opts = HistoryOptions(base_time=datetime.now(UTC))
    producer = Producer(KafkaConnection.from_settings(settings).options(), linger_ms=20)
    await producer.start()
    try:
        records = []
        for i in range(GOOD):
            won = closed_won(f"P-{i:04d}", opts)
            # All on one partition, so the poison sits between good records of that partition.
            records.append(
                OutRecord(
                    topic,
                    won.deal_id.encode(),
                    encode(won),
                    tuple(headers_for(won)),
                    POISON_PARTITION,
                )
            )
        poison = OutRecord(
            topic, b"P-poison", b"\x00garbage\xff" * 3, (("origin", b"fuzzer"),), POISON_PARTITION
        )
        await producer.send_all(records[: GOOD // 2])
        await producer.send_and_wait(poison)
        await producer.send_all(records[GOOD // 2 :])
    finally:
        await producer.stop()

    engine = Engine(settings, worker_id="w1")
    await engine.start()
    try:
        final = await wait_for_states(
            settings, lambda s: len(states_of(s, "quote-to-cash")) >= GOOD, timeout_s=180
        )
    finally:
        await engine.stop()

    sagas = states_of(final, "quote-to-cash")
    assert len(sagas) == GOOD
    assert "P-0999" in sagas  # the last record after the poison on the same partition
    dead = await read_dead_letters(
        KafkaConnection.from_settings(settings).options(), [names.dlq(topic)]
    )
    assert len(dead) == 1
    dl = dead[0]
    assert dl.key == b"P-poison" and dl.value == poison.value
    assert header_names() <= {k for k, _ in dl.headers}
    assert ("origin", b"fuzzer") in dl.headers  # the record's own headers are kept
    assert (dl.original_topic, dl.original_partition) == (topic, POISON_PARTITION)
    assert dl.original_offset == GOOD // 2
    assert dl.error_name == "DecodeError" and dl.stage == "decode"
