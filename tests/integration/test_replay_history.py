"""Replaying the inbound streams from the start changes nothing and emits no command again."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from engine.cli.main import app
from engine.kafka.connection import KafkaConnection
from engine.kafka.groups import GroupBusyError
from engine.runtime.app import Engine
from engine.runtime.names import TopicNames
from engine.runtime.rewind import apply_rewind, plan_rewind
from engine.workload.histories import HistoryOptions, deal_history, master_data
from tests.integration.engine_support import (
    all_completed,
    engine_settings,
    publish_all,
    read_commands,
    states,
    versions,
    wait_for_states,
)

pytestmark = pytest.mark.kafka
DEALS = ["R-1", "R-2", "R-3"]


async def test_replay_from_the_beginning_is_a_no_op(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    started = datetime.now(UTC) - timedelta(minutes=1)
    await publish_all(settings, master_data(DEALS))
    options = HistoryOptions(base_time=datetime.now(UTC), correlated_replies=False)
    history = [e for d in DEALS for e in deal_history(d, options)]
    await publish_all(settings, history)

    all_done = all_completed(len(DEALS))
    engine = Engine(settings, worker_id="before")
    await engine.start()
    try:
        before = await wait_for_states(settings, all_done, timeout_s=90)
        plan = await plan_rewind(
            KafkaConnection.from_settings(settings).options(),
            TopicNames(settings.topic_prefix),
            settings.group_id,
            started,
        )
        with pytest.raises(GroupBusyError):  # never under running workers
            await apply_rewind(KafkaConnection.from_settings(settings).options(), plan)
    finally:
        await engine.stop()
    commands_before = await read_commands(settings)
    assert all_done(before)

    monkeypatch.setenv("Q2C_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("Q2C_TOPIC_PREFIX", settings.topic_prefix)
    monkeypatch.setenv("Q2C_GROUP_ID", settings.group_id)
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["replay", "--from", started.isoformat(), "--json"]
    )
    assert result.exit_code == 0, result.output
    moved = json.loads(result.output)
    assert moved["group_id"] == settings.group_id and not moved["dry_run"]
    assert moved["offsets"] and all(o["offset"] >= 0 for o in moved["offsets"])

    engine = Engine(settings, worker_id="after")
    await engine.start()
    try:
        # Every input record is read again; wait until the group has caught up.
        await asyncio.wait_for(_caught_up(engine), 60)
        # Read again, not skipped: an exactly-once worker starts where its changelog says,
        # so the rewind must have moved that too, not only the group's offsets.
        assert engine.worker.processor.counts["processed"] >= len(history)
    finally:
        await engine.stop()
    after = await states(settings)
    assert versions(after) == versions(before)  # same states, same versions
    commands_after = await read_commands(settings)
    assert len(commands_after) == len(commands_before)

    rebuilt = await asyncio.to_thread(CliRunner().invoke, app, ["state", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"{len(after)} sagas restored" in rebuilt.output
    as_json = await asyncio.to_thread(CliRunner().invoke, app, ["state", "rebuild", "--json"])
    report = json.loads(as_json.output)
    assert report["sagas"] == len(after) == sum(row["sagas"] for row in report["by_state"])


async def _caught_up(engine: Engine) -> None:
    """Until the worker has re-consumed its inputs (the processed counter stops growing)."""
    await engine.wait_ready()
    seen = -1
    while True:
        await asyncio.sleep(2.0)
        consumed = sum(engine.worker.processor.counts.values())
        if consumed == seen and consumed > 0:
            return
        seen = consumed
