"""`q2c kafka tool NAME ...`: Kafka's own operator tools on q2c's jars, against the real broker."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from tests.conftest import MakeTopic

pytestmark = pytest.mark.kafka


def tool(bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "kafka", "tool", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={"PATH": "/usr/bin:/bin", "Q2C_BOOTSTRAP_SERVERS": bootstrap},
    )


async def test_kafka_topics_lists_the_brokers_topics(
    kafka_bootstrap: str, make_topic: MakeTopic
) -> None:
    topic = await make_topic("tools")
    result = await asyncio.to_thread(tool, kafka_bootstrap, "kafka-topics", "--list")
    assert result.returncode == 0, result.stderr
    assert topic in result.stdout.split()


async def test_external_lag_is_one_on_a_transactionally_written_partition(
    kafka_bootstrap: str, make_topic: MakeTopic, unique: str
) -> None:
    """The commit marker takes an offset: a group that has read everything shows LAG 1."""
    topic = await make_topic("txn-lag")
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap,
        transactional_id=f"tools-{unique}",
        enable_idempotence=True,
    )
    await producer.start()
    try:
        async with producer.transaction():
            meta = await producer.send_and_wait(topic, b"v", key=b"k", partition=0)
        group = f"tools-{unique}"
        # What a worker commits after processing the only record: its offset + 1.
        async with producer.transaction():
            await producer.send_offsets_to_transaction(
                {TopicPartition(topic, 0): OffsetAndMetadata(meta.offset + 1, "")}, group
            )
    finally:
        await producer.stop()
    result = await asyncio.to_thread(
        tool, kafka_bootstrap, "kafka-consumer-groups", "--describe", "--group", group
    )
    assert result.returncode == 0, result.stderr
    (row,) = [line.split() for line in result.stdout.splitlines() if topic in line]
    header = next(line.split() for line in result.stdout.splitlines() if "LAG" in line)
    values = dict(zip(header, row, strict=False))
    assert (values["CURRENT-OFFSET"], values["LOG-END-OFFSET"], values["LAG"]) == ("1", "2", "1")


def test_unknown_tool_is_refused_with_the_known_names() -> None:
    result = tool("127.0.0.1:9", "kafka-nope")
    assert result.returncode == 2
    assert "unknown Kafka tool 'kafka-nope'; known: kafka-acls" in result.stderr
