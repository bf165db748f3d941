"""Helpers for tests that run the engine against the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from typer.testing import CliRunner

from engine.cli.main import app
from engine.codec import decode
from engine.contracts import Command, Event
from engine.kafka.client import Consumer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import TopicPartition
from engine.publisher import Publisher
from engine.runtime.inspect import read_all_states
from engine.runtime.names import TARGETS, TopicNames
from engine.runtime.store import StoreKey
from engine.saga.model import SagaState
from engine.settings import Settings
from engine.topics import ensure_topics


async def engine_settings(bootstrap: str, unique: str, **extra: object) -> Settings:
    """Settings isolated by a unique topic prefix and group, with the catalog applied."""
    settings = Settings(
        bootstrap_servers=bootstrap,
        topic_prefix=f"t{unique}.",
        group_id=f"g{unique}",
        **extra,  # type: ignore[arg-type]
    )
    await ensure_topics(settings)
    return settings


async def publish_all(settings: Settings, events: Iterable[Event]) -> int:
    count = 0
    async with Publisher(settings) as pub:
        for event in events:
            await pub.publish(event)
            count += 1
    return count


async def read_topic_values(settings: Settings, topics: list[str]) -> list[tuple[str, bytes]]:
    """Every committed record of `topics` (read_committed), as (topic, value)."""
    options = KafkaConnection.from_settings(settings).options()
    consumer = Consumer(options, group_id=None, max_records=5000)
    await consumer.start()
    out: list[tuple[str, bytes]] = []
    try:
        parts = [
            TopicPartition(t, p) for t in topics for p in sorted(await consumer.partitions_for(t))
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(parts)
        ends = await consumer.end_offsets(parts)
        for _ in range(600):  # bounded: at most 600 polls
            for rec in await consumer.poll(timeout_ms=100):
                if rec.value is not None:
                    out.append((rec.topic, rec.value))
            if all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                break
    finally:
        await consumer.stop()
    return out


async def read_commands(settings: Settings) -> list[Command]:
    names = TopicNames(settings.topic_prefix)
    values = await read_topic_values(settings, [names.commands(t) for t in TARGETS])
    commands = []
    for topic, value in values:
        model = decode(value, topic=topic, partition=0, offset=0)
        assert isinstance(model, Command)
        commands.append(model)
    return commands


async def states(settings: Settings) -> dict[StoreKey, SagaState]:
    return await read_all_states(
        KafkaConnection.from_settings(settings).options(), TopicNames(settings.topic_prefix).state
    )


async def wait_for_states(
    settings: Settings,
    done: Callable[[dict[StoreKey, SagaState]], bool],
    *,
    timeout_s: float = 120.0,
) -> dict[StoreKey, SagaState]:
    """Poll the changelog until `done(states)` holds; return the last states either way."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    current = await states(settings)
    while not done(current) and loop.time() < deadline:
        await asyncio.sleep(1.0)
        current = await states(settings)
    return current


def states_of(all_states: dict[StoreKey, SagaState], saga_type: str) -> dict[str, str]:
    return {key: s.state for (t, key), s in all_states.items() if t == saga_type}


def all_completed(count: int) -> Callable[[dict[StoreKey, SagaState]], bool]:
    """A `wait_for_states` condition: exactly `count` quote-to-cash sagas, all completed."""

    def done(all_states: dict[StoreKey, SagaState]) -> bool:
        q2c = states_of(all_states, "quote-to-cash")
        return len(q2c) == count and set(q2c.values()) == {"completed"}

    return done


def versions(all_states: dict[StoreKey, SagaState]) -> dict[StoreKey, tuple[str, int]]:
    """Each saga's state and version: equal before and after means nothing was applied again."""
    return {k: (s.state, s.version) for k, s in all_states.items()}


def cli(settings: Settings, *args: str, user: str, code: int = 0) -> str:
    """Run `q2c <args>` against the test's broker and prefix as operator `user`."""
    env = {
        "Q2C_BOOTSTRAP_SERVERS": settings.bootstrap_servers or "",
        "Q2C_TOPIC_PREFIX": settings.topic_prefix,
        "USER": user,
    }
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.output
