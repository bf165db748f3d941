"""The core path on the secured broker, every component as its own least-privileged principal:
master data and deals published -> worker -> commands -> platform adapters -> replies -> sagas
complete; then a dead letter replayed by the operator completes its saga too."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.codec import default_codec, headers_for
from engine.contracts import ClosedWon
from engine.dlq.filters import DlqFilter
from engine.dlq.reader import read_dead_letters
from engine.dlq.replay import replay
from engine.kafka.client import Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import OutRecord
from engine.ops.store import read_audit
from engine.runtime.app import Engine
from engine.runtime.names import TopicNames
from engine.simulators import Platforms, SimClock, generate_deals
from engine.simulators.demo import DemoOptions, deal_config, sim_config
from engine.simulators.seed import seed_master_data
from tests.integration.engine_support import all_completed, states_of, wait_for_states
from tests.integration.secure.conftest import SecureEnv
from tests.integration.test_dlq_replay import deploy, encode_with, next_release_closed_won

pytestmark = pytest.mark.kafka
DEALS = 4


@pytest.fixture
def schema_added() -> Iterator[list[object]]:
    """Schemas deployed during the test are removed from the codec afterwards."""
    added: list[object] = []
    yield added
    for entry in added:
        default_codec().store._by_fingerprint.pop(entry.fingerprint, None)  # type: ignore[attr-defined]
        default_codec()._readers.pop(entry.fingerprint, None)  # type: ignore[attr-defined]


def as_platform_principals(platforms: Platforms, secure: SecureEnv) -> None:
    """Each simulated platform connects as its own adapter principal (q2c-crm, q2c-erp, ...)."""
    for runner in platforms.runners:
        runner.connect_as(secure.settings(f"q2c-{runner.name}"))


async def test_sagas_complete_and_a_dlq_replay_works_with_least_privilege(
    secure: SecureEnv, tmp_path: Path, schema_added: list[object]
) -> None:
    options = DemoOptions(
        deals=DEALS + 1,
        seed=11,
        time_scale=86_400.0 * 2,
        bad_fraction=0.0,
        term_days=(4, 6),
        billing_period_days=(3,),
        payment_terms_days=(5,),
        live=False,
    )
    clock = SimClock(options.time_scale)
    book = generate_deals(
        DEALS + 1, seed=options.seed, start=clock().date(), config=deal_config(options, "sec-")
    )
    ops = secure.settings("q2c-ops")
    names = TopicNames(secure.prefix)
    await seed_master_data(secure.settings("q2c-masterdata"), book)
    engine = Engine(secure.settings("q2c-worker"), clock=clock, worker_id="sec-1", http=False)
    platforms = Platforms(secure.settings("q2c-crm"), sim_config(options, "sec-"), clock)
    as_platform_principals(platforms, secure)
    won, late = book.deals[:DEALS], book.deals[DEALS]
    entry = next_release_closed_won(tmp_path)
    async with contextlib.AsyncExitStack() as stack:
        await engine.start()
        stack.push_async_callback(engine.stop)
        await engine.wait_ready()
        await platforms.start()
        stack.push_async_callback(platforms.stop)
        await platforms.win(d.closed_won for d in won)

        # The CRM's next release, which the engine cannot decode yet: dead-lettered.
        crm = secure.settings("q2c-crm")
        stamped = late.closed_won.model_copy(
            update={
                "envelope": late.closed_won.envelope.model_copy(update={"occurred_at": clock()})
            }
        )
        assert isinstance(stamped, ClosedWon)
        producer = Producer(KafkaConnection.from_settings(crm).options())
        await producer.start()
        try:
            await producer.send_and_wait(
                OutRecord(
                    names.events("crm"),
                    stamped.deal_id.encode(),
                    encode_with(entry, stamped),
                    tuple(headers_for(stamped)),
                )
            )
        finally:
            await producer.stop()

        done = await wait_for_states(ops, all_completed(DEALS), timeout_s=150)
        assert states_of(done, "quote-to-cash") == {d.deal_id: "completed" for d in won}

        crm_dlq = names.dlq(names.events("crm"))
        dead = await read_dead_letters(KafkaConnection.from_settings(ops).options(), [crm_dlq])
        for _ in range(60):  # bounded: at most 30 s
            if dead:
                break
            await asyncio.sleep(0.5)
            dead = await read_dead_letters(KafkaConnection.from_settings(ops).options(), [crm_dlq])
        assert {dl.key_text for dl in dead} == {late.deal_id}

        deploy(entry, schema_added)  # type: ignore[arg-type]
        result = await replay(ops, DlqFilter(topics=(names.events("crm"),)), by="sre-sec")
        assert (result.status, result.replayed) == ("done", 1)
        done = await wait_for_states(ops, all_completed(DEALS + 1), timeout_s=150)
        assert states_of(done, "quote-to-cash") == {d.deal_id: "completed" for d in book.deals}

    audit = [
        a
        for a in await read_audit(KafkaConnection.from_settings(ops).options(), secure.prefix)
        if a.action == "dlq.replay"
    ]
    # A replay is audited when it starts and when it ends; one replay, one record each.
    assert [(a.by, a.outcome, a.count) for a in audit] == [
        ("sre-sec", "started", 1),
        ("sre-sec", "done", 1),
    ]
