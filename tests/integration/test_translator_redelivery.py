"""A native record the translator reads again after it committed it (as a rebalance in the
middle of a batch makes it do) has no second effect: one dead letter, not two."""

from __future__ import annotations

import asyncio

import pytest

from engine.dlq.reader import dlq_topics, read_dead_letters
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import TopicPartition
from tests.connector_cases import all_cases
from tests.integration.engine_support import engine_settings
from tests.integration.gateway_support import (
    running_stack,
    signed_post,
    stripe_mapping_bug,
    wait_letters,
)

pytestmark = pytest.mark.kafka


async def test_a_record_read_again_after_its_commit_is_not_dead_lettered_twice(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    case = next(c for c in all_cases() if c.name == "stripe/invoice.finalized")
    async with running_stack(settings, stripe_mapping_bug()) as stack:
        path, body, headers = signed_post(case)
        assert (await stack.client.post(path, content=body, headers=headers)).status_code == 200
        [first] = await wait_letters(settings, 1)
        tp = TopicPartition(first.original_topic, first.original_partition)
        # What the rebalance does: the consumer goes back to a record already committed.
        stack.translator._consumer.seek(tp, first.original_offset)
        # The platform redelivers the same request: a new native record after it, same key.
        path, body, headers = signed_post(case)
        assert (await stack.client.post(path, content=body, headers=headers)).status_code == 200
        for _ in range(240):  # until the redelivery's batch is committed
            if stack.translator._committed.get(tp, 0) >= first.original_offset + 2:
                break
            await asyncio.sleep(0.25)
        assert stack.translator._committed.get(tp, 0) == first.original_offset + 2
    options = KafkaConnection.from_settings(settings).options()
    letters = await read_dead_letters(options, dlq_topics(settings.topic_prefix))
    assert sorted(dl.original_offset for dl in letters) == [
        first.original_offset,
        first.original_offset + 1,
    ]
