"""An interrupted DLQ replay can be found (`dlq replays`), is audited at each step, and a
re-run of the same filter points at it instead of starting over."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

import engine.dlq.replay as replay_module
from engine.cli.errors import ExitCode
from engine.cli.main import app
from engine.dlq.filters import DlqFilter
from engine.dlq.headers import Failure, dead_letter_headers
from engine.dlq.records import DeadLetter
from engine.dlq.replay import replay
from engine.kafka.client import Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import InRecord, OutRecord
from engine.ops.store import read_audit
from engine.runtime.names import TopicNames
from engine.settings import Settings
from tests.cli_support import q2c
from tests.integration.engine_support import engine_settings

pytestmark = pytest.mark.kafka
KEYS = ["D-1", "D-2", "D-3"]


class Interrupted(Exception):
    """Stands for Ctrl-C or a crash in the middle of a replay."""


async def dead_letter(settings: Settings, count: int) -> str:
    """`count` undecodable records dead-lettered from the CRM topic; returns that topic."""
    names = TopicNames(settings.topic_prefix)
    crm = names.events("crm")
    failure = Failure("engine.codec.errors.DecodeError", "not Avro", "decode", "q2c", "t0")
    producer = Producer(KafkaConnection.from_settings(settings).options())
    await producer.start()
    try:
        for i, key in enumerate(KEYS[:count]):
            original = InRecord(crm, 0, i, key.encode(), b"garbage", (), 0)
            headers = dead_letter_headers(original, failure)
            await producer.send_and_wait(
                OutRecord(names.dlq(crm), key.encode(), b"garbage", headers)
            )
    finally:
        await producer.stop()
    return crm


def env_of(settings: Settings) -> dict[str, str]:
    return {
        "Q2C_BOOTSTRAP_SERVERS": settings.bootstrap_servers or "",
        "Q2C_TOPIC_PREFIX": settings.topic_prefix,
        "USER": "sre-carol",
    }


async def test_interrupted_replay_is_listed_audited_and_offered_for_resume(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    crm = await dead_letter(settings, len(KEYS))
    monkeypatch.setattr(replay_module, "BATCH", 1)  # one transaction per record
    seen: list[str] = []
    begun: list[str] = []

    def crash_on_second(dl: DeadLetter) -> None:
        seen.append(dl.key_text)
        if len(seen) == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        await replay(
            settings,
            DlqFilter(topics=(TopicNames(settings.topic_prefix).dlq(crm),)),
            by="sre-carol",
            on_begin=lambda progress, pending: begun.append(progress.replay_id),
            on_record=crash_on_second,
        )
    [replay_id] = begun

    def audit_of_replay() -> list[tuple[str, int]]:
        records = asyncio.run(
            read_audit(KafkaConnection.from_settings(settings).options(), settings.topic_prefix)
        )
        ours = sorted((a for a in records if a.action_id == replay_id), key=lambda a: a.at)
        return [(a.outcome, a.count) for a in ours]

    assert await asyncio.to_thread(audit_of_replay) == [("started", 3), ("interrupted", 2)]

    env = env_of(settings)
    listed = await asyncio.to_thread(q2c, "dlq", "replays", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["replay_id"], row["status"], row["replayed"], row["remaining"]) == (
        replay_id,
        "interrupted",
        2,
        1,
    )

    # The same filter again, without a terminal: refuses and names the replay to resume.
    again = await asyncio.to_thread(
        q2c, "dlq", "replay", "--topic", "q2c.crm.events.dlq", "--yes", env=env
    )
    assert again.returncode == ExitCode.FAILED
    [line] = again.stderr.strip().splitlines()
    assert f"q2c dlq replay --resume {replay_id}" in line and "--new" in line

    resumed = await asyncio.to_thread(
        q2c, "dlq", "replay", "--resume", replay_id, "--yes", "--json", env=env
    )
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.splitlines()[0].startswith(f"replay {replay_id} (resumed)")
    doc = json.loads(resumed.stdout)
    assert (doc["status"], doc["already_done"], doc["replayed"], doc["remaining"]) == (
        "done",
        2,
        1,
        0,
    )
    assert await asyncio.to_thread(audit_of_replay) == [
        ("started", 3),
        ("interrupted", 2),
        ("started", 1),
        ("done", 1),
    ]
    final = json.loads((await asyncio.to_thread(q2c, "dlq", "replays", "--json", env=env)).stdout)
    assert [(r["status"], r["remaining"]) for r in final] == [("done", 0)]


async def test_purge_dry_run_changes_nothing(kafka_bootstrap: str, unique: str) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    await dead_letter(settings, 2)
    env = env_of(settings)
    runner = CliRunner()
    dry = await asyncio.to_thread(
        runner.invoke,
        app,
        ["dlq", "purge", "--error", "DecodeError", "--dry-run", "--json"],
        env=env,
    )
    assert dry.exit_code == 0, dry.output
    assert len(json.loads(dry.output)["would_purge"]) == 2
    listed = await asyncio.to_thread(runner.invoke, app, ["dlq", "list", "--json"], env=env)
    assert len(json.loads(listed.output)["records"]) == 2
    purged = await asyncio.to_thread(
        runner.invoke, app, ["dlq", "purge", "--error", "DecodeError", "--yes", "--json"], env=env
    )
    assert json.loads(purged.output) == {"dry_run": False, "purged": 2}
    listed = await asyncio.to_thread(runner.invoke, app, ["dlq", "list", "--json"], env=env)
    assert json.loads(listed.output)["records"] == []
