"""Session fixtures: a real Kafka broker and unique topic names per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Protocol

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.kafka_env import kafka_for_tests


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a real broker, shared by the whole session."""
    home = tmp_path_factory.mktemp("q2c-home")
    with kafka_for_tests(home) as bootstrap:
        os.environ["Q2C_TEST_BOOTSTRAP"] = bootstrap
        yield bootstrap


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic and group names, so tests never share state."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def admin(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


class MakeTopic(Protocol):
    """The `make_topic` fixture: creates a topic and returns its unique name."""

    async def __call__(
        self, base: str, partitions: int = 1, config: dict[str, str] | None = None
    ) -> str: ...


@pytest.fixture
def make_topic(admin: AIOKafkaAdminClient, unique: str) -> MakeTopic:
    """Create a uniquely named topic: `await make_topic("orders", partitions=3)`."""

    async def _make(base: str, partitions: int = 1, config: dict[str, str] | None = None) -> str:
        name = f"test.{base}.{unique}"
        await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=config or {})])
        return name

    return _make


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
