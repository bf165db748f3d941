"""The launcher's secured 3-node cluster: inter-broker SASL_SSL and controller mutual TLS hold
a quorum, replicated writes work for an authenticated client, anything else is turned away."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError

from engine.localkafka import start_cluster
from engine.localkafka.probe import broker_answers_metadata

pytestmark = [pytest.mark.kafka, pytest.mark.cluster]


async def test_secured_three_node_cluster_replicates_and_refuses_strangers(tmp_path: Path) -> None:
    cluster = await asyncio.to_thread(
        start_cluster, 3, name="secure3", home=tmp_path, secure=True, users=["q2c-worker"]
    )
    try:
        assert cluster.security is not None
        options = cluster.launcher_options()
        admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers, **options)
        await admin.start()
        topic = f"secure3.{uuid.uuid4().hex[:8]}"
        try:
            await admin.create_topics(
                [NewTopic(topic, 1, 3, topic_configs={"min.insync.replicas": "2"})]
            )
            # The new topic's metadata reaches every broker shortly after creation.
            for _ in range(60):  # bounded: at most 30 s
                described = await admin.describe_topics([topic])
                partitions = described[0]["partitions"]
                if partitions and len(partitions[0]["isr"]) == 3:
                    break
                await asyncio.sleep(0.5)
            assert partitions and len(partitions[0]["isr"]) == 3
        finally:
            await admin.close()
        producer = AIOKafkaProducer(
            bootstrap_servers=cluster.bootstrap_servers, acks="all", **options
        )
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"replicated")
        finally:
            await producer.stop()

        # No TLS, no credentials: no metadata; a wrong password: no metadata either.
        first = cluster.nodes[0].bootstrap
        assert not broker_answers_metadata(first)
        wrong = {**options, "sasl_plain_password": "not-the-password"}
        assert not broker_answers_metadata(first, security=wrong)
        assert broker_answers_metadata(first, expected_brokers=3, security=options)
        stranger = AIOKafkaProducer(bootstrap_servers=first, **wrong)
        with pytest.raises((KafkaConnectionError, KafkaError)) as refused:
            await asyncio.wait_for(stranger.start(), 30)
        assert "not-the-password" not in str(refused.value)
        await stranger.stop()
    finally:
        await asyncio.to_thread(cluster.destroy)
    assert not cluster.running_nodes()
