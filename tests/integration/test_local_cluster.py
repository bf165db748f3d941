"""The launcher's 3-node KRaft cluster survives losing one node (RF 3, min ISR 2)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from engine.localkafka import start_cluster
from tests.kafka_env import docker_answers

pytestmark = [pytest.mark.kafka, pytest.mark.cluster]


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    if docker_answers():
        pytest.skip("the launcher is exercised where no Docker engine answers")
    c = start_cluster(3, name="fault", home=tmp_path)
    try:
        yield c
    finally:
        c.destroy()
        assert not c.running_nodes()


async def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for v in values:
            await producer.send_and_wait(topic, v)
    finally:
        await producer.stop()


async def test_three_node_cluster_keeps_accepting_writes_with_one_node_down(cluster) -> None:  # type: ignore[no-untyped-def]
    bootstrap = cluster.bootstrap_servers
    topic = f"fault.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, 1, 3, topic_configs={"min.insync.replicas": "2"})]
        )
        await _produce(bootstrap, topic, [b"before-1", b"before-2"])
        described = await admin.describe_topics([topic])
        assert len(described[0]["partitions"][0]["replicas"]) == 3
    finally:
        await admin.close()

    cluster.stop_node(3, kill=True)  # a crash, not a controlled shutdown
    assert sorted(cluster.running_nodes()) == [1, 2]
    survivors = ",".join(cluster.node(n).bootstrap for n in (1, 2))
    await _produce(survivors, topic, [b"during"])  # 2 in-sync replicas still satisfy acks=all

    cluster.start_node(3)
    cluster.wait_ready()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        got: list[bytes] = []
        for _ in range(20):
            batch = await consumer.getmany(timeout_ms=500)
            got += [m.value for msgs in batch.values() for m in msgs if m.value]
            if len(got) >= 3:
                break
    finally:
        await consumer.stop()
    assert got == [b"before-1", b"before-2", b"during"]
