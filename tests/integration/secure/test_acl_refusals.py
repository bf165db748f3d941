"""Least privilege on the secured broker: each principal is refused what its role does not need."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
)
from typer.testing import CliRunner

from engine.cli.main import app
from engine.kafka.client import Consumer, Producer, TransactionalProducer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import InRecord, OutRecord, TopicPartition
from engine.localkafka.secure import client_env
from engine.runtime.names import TopicNames
from engine.security.principals import DEFAULT_PRINCIPALS, LAUNCHER_USER
from engine.settings import Settings
from engine.topics import load_catalog
from tests.integration.secure.conftest import SecureEnv

pytestmark = pytest.mark.kafka
# A write the ACLs refuse: on the topic, or (no WRITE anywhere) the idempotent producer's id.
WRITE_REFUSED = (TopicAuthorizationFailedError, ClusterAuthorizationFailedError)


async def _partitions(settings: Settings, topic: str) -> set[int]:
    consumer = Consumer(KafkaConnection.from_settings(settings).options(), group_id=None)
    await consumer.start()
    try:
        return set(await consumer.partitions_for(topic))
    finally:
        await consumer.stop()


async def _join(settings: Settings, topic: str, group: str) -> None:
    """Start a group member subscribed to `topic`: aiokafka checks the topic's metadata first."""
    consumer = AIOKafkaConsumer(
        topic, group_id=group, **KafkaConnection.from_settings(settings).options()
    )
    try:
        await consumer.start()
    finally:
        await consumer.stop()


async def _fetch(settings: Settings, topic: str) -> list[InRecord]:
    """Every partition the principal can see, from the start, as an assigned reader."""
    consumer = Consumer(KafkaConnection.from_settings(settings).options(), group_id=None)
    await consumer.start()
    out: list[InRecord] = []
    try:
        parts = [TopicPartition(topic, p) for p in await consumer.partitions_for(topic)]
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, 0)
        for _ in range(25):  # bounded: 5 s of polling
            out += await consumer.poll(timeout_ms=200)
    finally:
        await consumer.stop()
    return out


async def _write(settings: Settings, topic: str) -> None:
    producer = Producer(KafkaConnection.from_settings(settings).options())
    await producer.start()
    try:
        await producer.send_and_wait(OutRecord(topic, b"k", b"v"))
    finally:
        await producer.stop()


async def _transaction(settings: Settings, transactional_id: str, topic: str) -> None:
    producer = TransactionalProducer(
        KafkaConnection.from_settings(settings).options(), transactional_id
    )
    try:
        await producer.start()
        await producer.begin()
        await producer.send_and_wait(OutRecord(topic, b"k", b"v"))
        await producer.commit(None, settings.group_id)
    finally:
        await producer.stop()


async def test_billing_adapter_cannot_read_the_erp_command_topic(secure: SecureEnv) -> None:
    names = TopicNames(secure.prefix)
    erp, billing_commands = names.commands("erp"), names.commands("billing")
    await _write(secure.settings("q2c-worker"), erp)  # something there to read
    await _write(secure.settings("q2c-worker"), billing_commands)
    billing = secure.settings("q2c-billing")
    # The topic is invisible to it (its own command topic is not), and a fetch is refused.
    assert await _partitions(billing, erp) == set()
    assert await _partitions(billing, billing_commands)
    with pytest.raises(TopicAuthorizationFailedError):
        await asyncio.wait_for(_join(billing, erp, f"{secure.group}.adapter.billing"), 30)
    assert await asyncio.wait_for(_fetch(billing, erp), 30) == []
    # Its own command topic: readable.
    assert [r.value for r in await asyncio.wait_for(_fetch(billing, billing_commands), 30)] == [
        b"v"
    ]


async def test_analytics_principal_cannot_write_anything(secure: SecureEnv) -> None:
    analytics = secure.settings("q2c-analytics")
    for logical in ("q2c.saga.status", "q2c.analytics.events", "q2c.crm.events", "q2c.ops.audit"):
        with pytest.raises(WRITE_REFUSED):
            await asyncio.wait_for(_write(analytics, secure.prefix + logical), 30)


async def test_no_adapter_can_write_a_command_topic(secure: SecureEnv) -> None:
    names = TopicNames(secure.prefix)
    for platform in ("crm", "erp", "billing", "masterdata"):
        adapter = secure.settings(f"q2c-{platform}")
        for target in ("crm", "erp", "billing", "masterdata"):
            with pytest.raises(TopicAuthorizationFailedError):
                await asyncio.wait_for(_write(adapter, names.commands(target)), 30)
    # What the billing adapter is for still works: its own domain events.
    await _write(secure.settings("q2c-billing"), names.events("billing"))


async def test_only_the_worker_may_use_its_transactional_ids(secure: SecureEnv) -> None:
    names = TopicNames(secure.prefix)
    worker_txn = f"{secure.group}.task.0"
    await _transaction(secure.settings("q2c-worker"), worker_txn, names.status)
    for intruder in ("q2c-ops", "q2c-crm", "q2c-analytics"):
        # InitProducerId on the worker's id is refused: no zombie-fencing of the worker.
        with pytest.raises(TransactionalIdAuthorizationFailed):
            await asyncio.wait_for(
                _transaction(secure.settings(intruder), worker_txn, names.audit), 30
            )
    # The worker's producer was not fenced: the same id commits again.
    await _transaction(secure.settings("q2c-worker"), worker_txn, names.status)


async def test_nobody_but_the_worker_and_the_operator_writes_the_saga_inbox(
    secure: SecureEnv,
) -> None:
    names = TopicNames(secure.prefix)
    for user in ("q2c-crm", "q2c-erp", "q2c-billing", "q2c-masterdata", "q2c-analytics"):
        with pytest.raises(WRITE_REFUSED):
            await asyncio.wait_for(_write(secure.settings(user), names.inbox), 30)
    await _write(secure.settings("q2c-worker"), names.inbox)


def test_catalog_knows_every_topic_named_here() -> None:
    names = set(load_catalog().names)
    assert {"q2c.saga.status", "q2c.analytics.events", "q2c.ops.audit", "q2c.saga.inbox"} <= names


def test_acls_plan_cli_shows_no_drift_after_apply_and_refuses_silent_widening(
    secure: SecureEnv, tmp_path: Path
) -> None:
    admin = secure.admin
    env = {
        **client_env(secure.cluster.security, admin.bootstrap_servers or "", LAUNCHER_USER),  # type: ignore[arg-type]
        "Q2C_TOPIC_PREFIX": secure.prefix,
        "Q2C_GROUP_ID": secure.group,
    }
    runner = CliRunner()
    planned = runner.invoke(app, ["acls", "plan"], env=env)
    assert planned.exit_code == 0 and "no drift" in planned.output, planned.output
    # One more principal in the file: its grants are shown, and not applied without --yes.
    principals = tmp_path / "principals.yaml"
    principals.write_text(
        DEFAULT_PRINCIPALS.read_text() + "  - name: q2c-analytics-2\n    role: analytics\n"
    )
    applied = runner.invoke(app, ["acls", "apply", "--principals", str(principals)], env=env)
    assert applied.exit_code == 1, applied.output
    assert "+ ALLOW User:q2c-analytics-2 READ topic" in applied.output
    assert "nothing applied" in applied.output
    again = runner.invoke(app, ["acls", "plan"], env=env)
    assert again.exit_code == 0, again.output
