"""Reads saga state straight from the changelog topic (for `q2c sagas show`, tests, the API)."""

from __future__ import annotations

from typing import Any

from engine.kafka.client import read_partition, topic_partitions
from engine.kafka.records import InRecord
from engine.runtime.store import SagaStore, StoreKey
from engine.saga.model import SagaState


async def read_all_states(options: dict[str, Any], state_topic: str) -> dict[StoreKey, SagaState]:
    """The latest committed state of every saga, by (saga_type, saga_key)."""
    parts = await topic_partitions(options, [state_topic])
    store = SagaStore()

    def _restore(rec: InRecord) -> None:
        store.restore(rec.key or b"", rec.value)

    await read_partition(options, parts, _restore)
    return dict(store.items())
