"""Reads saga state straight from the changelog topic (for `q2c sagas show`, tests, the API)."""

from __future__ import annotations

from typing import Any

from engine.kafka.client import read_latest, topic_partitions
from engine.runtime.store import SagaStore, StoreKey
from engine.saga.model import SagaState


async def read_all_states(options: dict[str, Any], state_topic: str) -> dict[StoreKey, SagaState]:
    """The latest committed state of every saga, by (saga_type, saga_key)."""
    parts = await topic_partitions(options, [state_topic])
    store = SagaStore()
    store.restore_latest((await read_latest(options, parts)).values)
    return dict(store.items())
