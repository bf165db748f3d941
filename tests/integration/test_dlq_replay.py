"""Replay after a fix: dead letters from a schema the engine did not know, replayed once the
schema is deployed; the sagas complete, a second replay changes nothing, and an interrupted
replay resumed gives the same result."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from io import BytesIO
from pathlib import Path

import pytest
from fastavro import schemaless_writer

from engine.codec import default_codec, headers_for
from engine.codec.framing import frame
from engine.codec.store import SchemaEntry, load_set
from engine.contracts import ClosedWon
from engine.dlq.filters import DlqFilter
from engine.dlq.plan import REPLAY_ID
from engine.dlq.reader import read_dead_letters
from engine.dlq.replay import replay
from engine.kafka.client import Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import OutRecord
from engine.ops.store import read_audit
from engine.runtime.app import Engine
from engine.runtime.names import TopicNames
from engine.workload.histories import HistoryOptions, deal_history, master_data
from tests.integration.engine_support import (
    all_completed,
    engine_settings,
    publish_all,
    read_commands,
    states,
    states_of,
    versions,
    wait_for_states,
)
from tests.integration.engine_support import cli as run_cli

pytestmark = pytest.mark.kafka
DEALS = ["R-1", "R-2", "R-3"]


def next_release_closed_won(tmp: Path) -> SchemaEntry:
    """io.q2c.ClosedWon as the CRM team's next release has it: one more optional field."""
    src = Path(default_codec().store.root)
    for avsc in src.glob("*.avsc"):
        shutil.copy(avsc, tmp / avsc.name)
    path = tmp / "ClosedWon.avsc"
    schema = json.loads(path.read_text())
    schema["fields"].append({"name": "sales_region", "type": ["null", "string"], "default": None})
    path.write_text(json.dumps(schema))
    return load_set(tmp, "next").entries["io.q2c.ClosedWon"]


def encode_with(entry: SchemaEntry, won: ClosedWon) -> bytes:
    buf = BytesIO()
    schemaless_writer(buf, entry.parsed, {**won.model_dump(), "sales_region": "EMEA"})
    return frame(entry.fingerprint, buf.getvalue())


@pytest.fixture
def deployed_later() -> Iterator[list[SchemaEntry]]:
    """Entries registered with the engine's codec store during the test, removed afterwards."""
    added: list[SchemaEntry] = []
    yield added
    for entry in added:
        default_codec().store._by_fingerprint.pop(entry.fingerprint, None)
        default_codec()._readers.pop(entry.fingerprint, None)


def deploy(entry: SchemaEntry, added: list[SchemaEntry]) -> None:
    """The fix: the engine learns the new release's schema (what a redeploy would load)."""
    default_codec().store._by_fingerprint[entry.fingerprint] = entry
    added.append(entry)


cli = partial(run_cli, user="sre-alice")


async def wait_processed(engine: Engine, at_least: int, timeout_s: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while engine.worker.processor.counts["processed"] < at_least and loop.time() < deadline:
        await asyncio.sleep(0.2)
    assert engine.worker.processor.counts["processed"] >= at_least


async def test_replay_after_fix_completes_sagas_and_is_idempotent(
    kafka_bootstrap: str,
    unique: str,
    tmp_path: Path,
    deployed_later: list[SchemaEntry],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("Q2C_HTTP_ENABLED", "false")
    settings = await engine_settings(kafka_bootstrap, unique)
    names = TopicNames(settings.topic_prefix)
    crm, crm_dlq = names.events("crm"), names.dlq(names.events("crm"))
    entry = next_release_closed_won(tmp_path)
    opts = HistoryOptions(base_time=datetime.now(UTC))
    histories = {d: deal_history(d, opts) for d in DEALS}

    await publish_all(settings, master_data(DEALS))
    producer = Producer(KafkaConnection.from_settings(settings).options())
    await producer.start()
    try:
        for d in DEALS:
            won = histories[d][0]
            assert isinstance(won, ClosedWon)
            await producer.send_and_wait(
                OutRecord(crm, d.encode(), encode_with(entry, won), tuple(headers_for(won)))
            )
    finally:
        await producer.stop()
    await publish_all(settings, [e for d in DEALS for e in histories[d][1:]])

    engine = Engine(settings, worker_id="w1")
    await engine.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        dead = await read_dead_letters(KafkaConnection.from_settings(settings).options(), [crm_dlq])
        while {dl.key_text for dl in dead} != set(DEALS) and loop.time() < deadline:
            await asyncio.sleep(0.5)
            dead = await read_dead_letters(
                KafkaConnection.from_settings(settings).options(), [crm_dlq]
            )
        # A worker may dead-letter a record twice when it retries a transaction whose commit
        # it could not confirm (seen on a just-started broker); replay sends each one once.
        assert {dl.key_text for dl in dead} == set(DEALS)
        assert {dl.error_name for dl in dead} == {"DecodeError"}
        assert all("unknown schema fingerprint" in dl.message for dl in dead)
        listed = json.loads(
            await asyncio.to_thread(
                cli, settings, "dlq", "list", "--topic", "q2c.crm.events", "--json"
            )
        )
        assert listed["counts"][0]["count"] == len(dead)

        deploy(entry, deployed_later)

        # An interrupted replay (--limit 2), then resumed: each record replayed exactly once.
        out = await asyncio.to_thread(
            cli,
            settings,
            "dlq",
            "replay",
            "--topic",
            "q2c.crm.events",
            "--error",
            "DecodeError",
            "--limit",
            "2",
            "--yes",
        )
        assert "partial" in out and "replayed 2" in out, out
        replay_id = re.search(r"replay (replay-[0-9a-f]+)", out)
        assert replay_id is not None, out
        out = await asyncio.to_thread(
            cli, settings, "dlq", "replay", "--resume", replay_id.group(1), "--yes"
        )
        assert "done" in out and "already done 2" in out and "replayed 1" in out, out

        done = await wait_for_states(settings, all_completed(len(DEALS)), timeout_s=90)
        assert states_of(done, "quote-to-cash") == dict.fromkeys(DEALS, "completed")
        on_crm = await read_dead_letters(KafkaConnection.from_settings(settings).options(), [crm])
        first = [r for r in on_crm if (REPLAY_ID, replay_id.group(1).encode()) in r.headers]
        assert sorted(r.key_text for r in first) == DEALS  # each exactly once, despite --limit
        assert not any(
            k.startswith(("__connect.errors.", "q2c.errors.")) for r in first for k, _ in r.headers
        )
        commands_before = await read_commands(settings)
        processed = engine.worker.processor.counts["processed"]

        # Replaying the same set again changes nothing: same states, no new commands.
        again = await replay(settings, DlqFilter(topics=(crm,)), by="sre-bob")
        assert again.replayed == len(DEALS) and again.status == "done"
        await wait_processed(engine, processed + len(DEALS))
        await asyncio.sleep(2)  # let anything the duplicates might cause surface
        after = await states(settings)
        assert versions(after) == versions(done)
        assert len(await read_commands(settings)) == len(commands_before)
    finally:
        await engine.stop()

    audit = [
        a
        for a in await read_audit(
            KafkaConnection.from_settings(settings).options(), settings.topic_prefix
        )
        if a.action == "dlq.replay"
    ]
    audit.sort(key=lambda a: a.at)  # keyed by replay id: spread over partitions
    assert [(a.by, a.outcome, a.count, a.details["status"]) for a in audit] == [
        ("sre-alice", "started", 2, "running"),
        ("sre-alice", "done", 2, "partial"),
        ("sre-alice", "started", 1, "running"),
        ("sre-alice", "done", 1, "done"),
        ("sre-bob", "started", 3, "running"),
        ("sre-bob", "done", 3, "done"),
    ]
    assert {a.action_id for a in audit[:4]} == {replay_id.group(1)}
