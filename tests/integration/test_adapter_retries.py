"""CommandRunner on a real broker: in-process retry, retry tiers, dead letter, per-key order,
and the options of the engine's own adapters (concurrent keys, trace header, crash on a bug)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.adapters import (
    BugPolicy,
    CommandRunner,
    RetryPolicy,
    Tier,
    TransientError,
    incoming_record,
)
from engine.codec import TRACEPARENT
from engine.dlq.headers import Failure, dead_letter_headers
from engine.dlq.reader import read_dead_letters
from engine.kafka.client import Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import InRecord
from engine.runtime.names import TopicNames
from engine.runtime.translate import command_record
from engine.saga.model import SagaCommand
from tests.integration.engine_support import engine_settings

pytestmark = pytest.mark.kafka

POLICY = RetryPolicy(
    attempts=2,
    initial_backoff_s=0.01,
    max_backoff_s=0.05,
    handler_timeout_s=5.0,
    tiers=(Tier("retry-1m", 1.0), Tier("retry-10m", 2.0)),
)


def escalate(key: str, n: int) -> SagaCommand:
    return SagaCommand(
        "escalate",
        "crm",
        f"{key}:escalate:{n}",
        key,
        f"cause-{key}-{n}",
        {"deal_id": key, "kind": "activation-sla", "detail": f"step {n}"},
    )


def all_header_names() -> set[str]:
    dummy = InRecord("t", 0, 0, b"k", b"v", (), 0)
    return {k for k, _ in dead_letter_headers(dummy, Failure("E", "m", "process", "p", "t"))}


async def test_transient_failures_retry_then_dead_letter_in_key_order(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    names = TopicNames(settings.topic_prefix)
    # How many times each command fails (transiently) before it succeeds; None = never heals.
    plan: list[tuple[str, int, int | None]] = [
        ("K2", 1, None),  # never heals: 2 tries per visit x 3 visits, then dead letter
        ("K1", 1, 1),  # heals within the in-process budget
        ("K3", 1, 3),  # heals on its second try in retry-1m
        ("K2", 2, 0),  # must wait until K2/1 is dead-lettered
        ("K3", 2, 0),  # must wait until K3/1 succeeded
        ("K2", 3, 0),
    ]
    remaining: dict[str, int | None] = {f"{k}:escalate:{n}": f for k, n, f in plan}
    handled: list[str] = []
    calls: dict[str, int] = {}

    async def handle(command: Any) -> None:
        ikey = command.header.idempotency_key
        calls[ikey] = calls.get(ikey, 0) + 1
        left = remaining[ikey]
        if left is None or left > 0:
            if left is not None:
                remaining[ikey] = left - 1
            raise TransientError("target unavailable (503)")
        handled.append(ikey)

    producer = Producer(KafkaConnection.from_settings(settings).options())
    await producer.start()
    try:
        now = datetime.now(UTC)
        for key, n, _ in plan:
            await producer.send_and_wait(command_record(escalate(key, n), names, now))
    finally:
        await producer.stop()

    runner = CommandRunner(settings, "crm", handle, policy=POLICY)
    task = asyncio.create_task(runner.run())
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while (len(handled) < 5 or runner.counts.dead_lettered < 1) and loop.time() < deadline:
            await asyncio.sleep(0.2)
    finally:
        runner.request_stop()
        await asyncio.wait_for(task, 30)

    assert sorted(handled) == sorted(k for k, v in remaining.items() if v == 0)
    assert len(handled) == len(set(handled)) == 5  # each handled once
    assert calls["K1:escalate:1"] == 2  # healed in-process, never left the command topic
    assert calls["K3:escalate:1"] == 4  # 2 on the command topic, 2 in retry-1m
    assert calls["K2:escalate:1"] == 6  # 2 per visit: command topic, retry-1m, retry-10m
    for key in ("K2", "K3"):
        mine = [h for h in handled if h.startswith(key)]
        assert mine == sorted(mine), f"{key} commands overtook each other: {mine}"
    # K1 was not held up by K2's outage: it was handled at once (before K2/1 was given up).
    assert handled[0] == "K1:escalate:1"

    dead = await read_dead_letters(
        KafkaConnection.from_settings(settings).options(), [names.dlq(names.commands("crm"))]
    )
    assert len(dead) == 1
    dl = dead[0]
    assert dl.key == b"K2"
    assert dl.attempts == 6
    assert dl.original_topic == names.commands("crm")
    assert dl.error_name == "TransientError" and dl.stage == "retry"
    assert all_header_names() <= {k for k, _ in dl.headers}


async def test_engine_options_concurrent_keys_in_order_trace_header_and_crash_on_bug(
    kafka_bootstrap: str, unique: str
) -> None:
    """key_concurrency overlaps saga keys but keeps each key in order; the handler sees its
    record's trace header; under BugPolicy.CRASH a bug stops run() with nothing committed, so
    the group's next runner handles that command again."""
    settings = await engine_settings(kafka_bootstrap, unique)
    names = TopicNames(settings.topic_prefix)
    keys = [f"C{i}" for i in range(6)]
    traces = {f"{k}:escalate:{n}": f"00-{uuid.uuid4().hex}-{'ab' * 8}-01" for k in keys
              for n in (1, 2, 3)}  # fmt: skip
    producer = Producer(KafkaConnection.from_settings(settings).options())
    await producer.start()
    try:
        now = datetime.now(UTC)
        for n in (1, 2, 3):
            for key in keys:
                cmd = escalate(key, n)
                record = command_record(cmd, names, now, traces[cmd.idempotency_key])
                await producer.send_and_wait(record)
    finally:
        await producer.stop()

    order: dict[str, list[int]] = {k: [] for k in keys}
    seen_traces: dict[str, str] = {}
    in_flight = peak = 0
    fail_on = {"C5:escalate:3"}

    async def handle(command: Any) -> None:
        nonlocal in_flight, peak
        ikey = command.header.idempotency_key
        header = incoming_record().header(TRACEPARENT)
        seen_traces[ikey] = header.decode() if header else ""
        if ikey in fail_on:
            raise RuntimeError("adapter bug")
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        order[command.deal_id].append(int(ikey.rsplit(":", 1)[1]))

    crashing = CommandRunner(
        settings, "crm", handle, policy=POLICY, on_bug=BugPolicy.CRASH, key_concurrency=6
    )
    with pytest.raises(RuntimeError, match="adapter bug"):
        await asyncio.wait_for(crashing.run(), 60)
    assert crashing.counts.dead_lettered == 0  # a bug is not parked under CRASH
    assert peak > 1  # keys overlapped
    assert all(o == sorted(o) for o in order.values())  # ... each key in order
    assert seen_traces and all(traces[k] == v for k, v in seen_traces.items())

    fail_on.clear()
    for handled in order.values():
        handled.clear()  # the crashed poll was not committed: it is all delivered again
    again = CommandRunner(settings, "crm", handle, policy=POLICY)
    task = asyncio.create_task(again.run())
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while order["C5"][-1:] != [3] and loop.time() < deadline:
            await asyncio.sleep(0.2)
    finally:
        again.request_stop()
        await asyncio.wait_for(task, 30)
    assert order["C5"][-1] == 3  # the crashed command was not committed: handled now
    assert all(o == sorted(o) for o in order.values())
