"""Field protection on the real broker: a record under a removed key is dead-lettered with one
line, not a crash, and the sagas sealed under the new key complete; `q2c dlq show` masks a dead
letter's classified fields until an audited reveal. (The canary proof over every topic, log,
metric and API answer is tests/integration/test_canary_proof.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.codec import headers_for
from engine.dlq.reader import read_dead_letters
from engine.kafka.client import Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import OutRecord
from engine.ops.store import read_audit
from engine.runtime.app import Engine
from engine.runtime.names import TopicNames
from engine.security import protection
from engine.security.keyring import FileKeysetProvider
from engine.security.protection import seal_model
from engine.workload.histories import HistoryOptions, closed_won, deal_history, master_data
from tests.integration.canary_support import TAX, TOTAL, field_keyset, with_canaries
from tests.integration.engine_support import (
    all_completed,
    cli,
    engine_settings,
    publish_all,
    wait_for_states,
)

pytestmark = pytest.mark.kafka


@pytest.fixture
def keyset(tmp_path: Path) -> Iterator[FileKeysetProvider]:
    with field_keyset(tmp_path / "field-keys.json") as provider:
        yield provider


async def test_a_record_under_a_removed_key_is_dead_lettered_with_the_reason(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch, keyset: FileKeysetProvider
) -> None:
    monkeypatch.setenv("Q2C_HTTP_ENABLED", "false")
    settings = await engine_settings(kafka_bootstrap, unique)
    names = TopicNames(settings.topic_prefix)
    opts = HistoryOptions(base_time=datetime.now(UTC))
    await publish_all(settings, [closed_won("D-old", opts)])
    old_key = next(k.key_id for k in keyset.load().key_infos() if k.purpose == "aead")
    keyset.save(keyset.load().rotated())
    keyset.save(keyset.load().without(old_key))
    protection.active.cache_clear()
    await publish_all(settings, master_data(["D-new"]))
    await publish_all(settings, deal_history("D-new", opts))
    engine = Engine(settings, worker_id="w-removed")
    await engine.start()
    try:
        final = await wait_for_states(settings, all_completed(1), timeout_s=150)
    finally:
        await engine.stop()
    assert all_completed(1)(final)  # the worker went on with the deal sealed under the new key
    dead = await read_dead_letters(
        KafkaConnection.from_settings(settings).options(), [names.dlq(names.events("crm"))]
    )
    assert [d.key for d in dead] == [b"D-old"]
    message = dict(dead[0].headers)["__connect.errors.exception.message"].decode()
    assert f"key {old_key}, which is not in the keyset" in message and "\n" not in message
    assert dead[0].value is not None and TAX.encode() not in dead[0].value  # ciphertext kept


async def test_dlq_show_masks_until_an_audited_reveal(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch, keyset: FileKeysetProvider
) -> None:
    monkeypatch.setenv("Q2C_HTTP_ENABLED", "false")
    settings = await engine_settings(kafka_bootstrap, unique)
    names = TopicNames(settings.topic_prefix)
    erp = names.events("erp")
    won = with_canaries([closed_won("D-leak", HistoryOptions(base_time=datetime.now(UTC)))])[0]
    # A CRM event on the ERP topic: the worker dead-letters it at once, ciphertext and all.
    value, sealed = seal_model(won, erp, b"D-leak")
    producer = Producer(KafkaConnection.from_settings(settings).options())
    await producer.start()
    try:
        await producer.send_and_wait(OutRecord(erp, b"D-leak", value, (*headers_for(won), *sealed)))
    finally:
        await producer.stop()
    engine = Engine(settings, worker_id="w-reveal")
    await engine.start()
    try:
        dead = []
        for _ in range(60):  # bounded
            dead = await read_dead_letters(
                KafkaConnection.from_settings(settings).options(), [names.dlq(erp)]
            )
            if dead:
                break
            await asyncio.sleep(1.0)
    finally:
        await engine.stop()
    assert len(dead) == 1 and dead[0].value is not None
    assert TAX.encode() not in dead[0].value + b"".join(v for _, v in dead[0].headers)
    ref = dead[0].ref

    def q2c(*args: str, code: int = 0) -> str:  # the CLI runs its own event loop
        return cli(settings, *args, user="alice", code=code)

    masked = await asyncio.to_thread(q2c, "dlq", "show", ref, "--json")
    assert TAX not in masked and "[confidential]" in masked
    assert "--why" in await asyncio.to_thread(q2c, "dlq", "show", ref, "--reveal", code=2)
    why = "customer dispute 4711"
    shown = await asyncio.to_thread(q2c, "dlq", "show", ref, "--json", "--reveal", "--why", why)
    assert TAX in shown and str(TOTAL) in shown

    trail = await read_audit(
        KafkaConnection.from_settings(settings).options(), settings.topic_prefix
    )
    reveals = [a for a in trail if a.action == "dlq.reveal"]
    assert [(a.by, a.target, a.details["why"]) for a in reveals] == [("alice", ref, why)]
    assert "account.tax_registration" in reveals[0].details["fields"]
    assert all(TAX not in a.to_bytes().decode() for a in trail)


async def test_sagas_show_masks_until_an_audited_reveal(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch, keyset: FileKeysetProvider
) -> None:
    monkeypatch.setenv("Q2C_HTTP_ENABLED", "false")
    settings = await engine_settings(kafka_bootstrap, unique)
    opts = HistoryOptions(base_time=datetime.now(UTC))
    await publish_all(settings, with_canaries(master_data(["D-show"])))
    await publish_all(settings, with_canaries(deal_history("D-show", opts)))
    engine = Engine(settings, worker_id="w-show")
    await engine.start()
    try:
        final = await wait_for_states(settings, all_completed(1), timeout_s=150)
    finally:
        await engine.stop()
    assert all_completed(1)(final)

    def q2c(*args: str, code: int = 0) -> str:  # the CLI runs its own event loop
        return cli(settings, *args, user="alice", code=code)

    for extra in ((), ("--json",)):
        masked = await asyncio.to_thread(q2c, "sagas", "show", "D-show", *extra)
        assert "[confidential]" in masked and "completed" in masked
        assert TAX not in masked and str(TOTAL) not in masked
    assert "--why" in await asyncio.to_thread(q2c, "sagas", "show", "D-show", "--reveal", code=2)
    assert not [
        a
        for a in await read_audit(
            KafkaConnection.from_settings(settings).options(), settings.topic_prefix
        )
    ]
    why = "invoice query 17"
    shown = await asyncio.to_thread(
        q2c, "sagas", "show", "D-show", "--json", "--reveal", "--why", why
    )
    assert TAX in shown and str(TOTAL) in shown

    trail = await read_audit(
        KafkaConnection.from_settings(settings).options(), settings.topic_prefix
    )
    assert [(a.action, a.by, a.target, a.via, a.details["why"]) for a in trail] == [
        ("sagas.reveal", "alice", "D-show", "cli", why)
    ]
    assert "account" in trail[0].details["fields"]["quote-to-cash"]
    assert all(TAX not in a.to_bytes().decode() for a in trail)
