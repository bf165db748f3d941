"""Session fixtures: a real Kafka broker and unique topic names per test."""

from __future__ import annotations

import asyncio
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


async def _topic_names(bootstrap: str) -> set[str]:
    client = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await client.start()
    try:
        return {t for t in await client.list_topics() if not t.startswith("__")}
    finally:
        await client.close()


async def _delete_topics(bootstrap: str, names: set[str]) -> None:
    client = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await client.start()
    try:
        ordered = sorted(names)
        for start in range(0, len(ordered), 100):
            await client.delete_topics(ordered[start : start + 100], timeout_ms=30000)
    finally:
        await client.close()


@pytest.fixture(scope="module", autouse=True)
def _topics_made_here_are_deleted() -> Iterator[None]:
    """Delete the topics a test module created once the module is done.

    Every engine test creates the whole catalog (~270 partitions) under its own prefix; kept
    for the whole session, thousands of partitions exhaust the shared broker's file handles
    and memory maps, and it dies late in the run. Only topics that appeared during this
    module go, so a topic that existed before (an external cluster's own) is never touched.
    """
    # Before the session's broker starts, an external cluster is read directly; a broker the
    # session starts itself holds nothing yet.
    bootstrap = os.environ.get("Q2C_TEST_BOOTSTRAP") or os.environ.get("Q2C_BOOTSTRAP_SERVERS")
    before = asyncio.run(_topic_names(bootstrap)) if bootstrap else set()
    yield
    bootstrap = os.environ.get("Q2C_TEST_BOOTSTRAP")
    if not bootstrap:
        return
    try:
        made = asyncio.run(_topic_names(bootstrap)) - before
        if made:
            asyncio.run(_delete_topics(bootstrap, made))
    except Exception as exc:  # a module that stopped the broker on purpose leaves nothing to do
        print(f"could not delete the topics of this module: {exc}")


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
