"""An SRE replaying the ERP's dead letters after a fix does not write an older amendment's budget
back over the newer one the ERP took meanwhile; a dead letter nothing replaced is replayed.

Real broker: a `CommandRunner` for the ERP dead-letters what its platform refuses, and the
replay is `q2c dlq replay` as an operator runs it."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from engine.adapters import CommandRunner, PermanentError
from engine.codec import headers_for
from engine.contracts import CommandHeader, Money
from engine.contracts.commands import UpdateProjectBudget
from engine.kafka.client import Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import OutRecord
from engine.runtime.names import TopicNames
from engine.security.protection import seal_model
from engine.settings import Settings
from tests.integration.engine_support import cli as run_cli
from tests.integration.engine_support import engine_settings

pytestmark = pytest.mark.kafka
cli = partial(run_cli, user="sre-alice")


def budget_command(deal: str, amendment: str, amount: str) -> UpdateProjectBudget:
    key = f"{deal}:change-order:{amendment}:budget"
    return UpdateProjectBudget(
        header=CommandHeader(
            command_id=str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
            command_type="update-project-budget",
            idempotency_key=key,
            saga_key=deal,
            correlation_id=deal,
            causation_id=f"{deal}-{amendment}",
            issued_at=datetime.now(UTC),
            target_system="erp",
            schema_version=1,
        ),
        project_id=f"P-{deal}",
        deal_id=deal,
        amendment_id=amendment,
        budget=Money(amount=Decimal(amount), currency="EUR"),
    )


async def send_commands(settings: Settings, commands: list[UpdateProjectBudget]) -> None:
    """What the change-order saga writes, in the order it writes them."""
    topic = TopicNames(settings.topic_prefix).commands("erp")
    producer = Producer(KafkaConnection.from_settings(settings).options())
    await producer.start()
    try:
        for cmd in commands:
            key = cmd.deal_id.encode()
            value, sealed = seal_model(cmd, topic, key)
            await producer.send_and_wait(OutRecord(topic, key, value, (*headers_for(cmd), *sealed)))
    finally:
        await producer.stop()


def json_of(output: str) -> dict[str, Any]:
    """The --json document of a CLI run (the replay id line goes to stderr, before it)."""
    doc = json.loads(output[output.index("{") :])
    assert isinstance(doc, dict)
    return doc


async def wait_until(done: object, timeout_s: float = 60) -> None:
    assert callable(done)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not done() and loop.time() < deadline:
        await asyncio.sleep(0.2)
    assert done()


async def test_replay_skips_a_budget_a_newer_amendment_replaced(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    dlq = TopicNames(settings.topic_prefix).dlq(TopicNames(settings.topic_prefix).commands("erp"))
    budgets: dict[str, Decimal] = {}  # the ERP's project budgets
    locked = {"A1"}  # the ERP refuses amendment A1's budget lines until they are unlocked

    async def erp(command: object) -> None:
        assert isinstance(command, UpdateProjectBudget)
        if command.amendment_id in locked:
            raise PermanentError("budget line locked")
        budgets[command.deal_id] = command.budget.amount

    runner = CommandRunner(settings, "erp", erp, group_id=f"g{unique}.erp")
    task = asyncio.create_task(runner.run())
    try:
        await send_commands(
            settings,
            [
                budget_command("D-1", "A1", "1000"),
                budget_command("D-2", "A1", "500"),
                budget_command("D-1", "A2", "1500"),  # newer: the ERP takes it
            ],
        )
        await wait_until(lambda: runner.counts.dead_lettered == 2 and runner.counts.handled == 1)
        assert budgets == {"D-1": Decimal("1500")}

        locked.clear()  # the fix
        out = json_of(
            await asyncio.to_thread(
                cli, settings, "dlq", "replay", "--topic", dlq, "--yes", "--json"
            )
        )
        assert out["replayed"] == 1
        (skipped,) = out["superseded"]
        assert skipped["superseded_by"].startswith(f"{settings.topic_prefix}q2c.commands.erp:")
        await wait_until(lambda: runner.counts.handled == 2)
        assert budgets == {"D-1": Decimal("1500"), "D-2": Decimal("500")}

        text = await asyncio.to_thread(
            cli, settings, "dlq", "replay", "--topic", dlq, "--yes", "--dry-run"
        )
        assert "update-project-budget for 'D-1' is superseded by the later" in text

        # Asked for explicitly, the older budget goes out, and overwrites the newer one.
        forced = json_of(
            await asyncio.to_thread(
                cli,
                settings,
                "dlq",
                "replay",
                "--topic",
                dlq,
                "--yes",
                "--include-superseded",
                "--json",
            )
        )
        assert forced["replayed"] == 2 and forced["superseded"] == []
        await wait_until(lambda: runner.counts.handled == 4)
        assert budgets["D-1"] == Decimal("1000")
    finally:
        runner.request_stop()
        await asyncio.wait_for(task, 30)
