"""A deal whose account is missing from master data parks in `exception`; after the account is
published, `q2c exceptions retry` re-validates it and the deal completes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from functools import partial

import pytest

from engine.kafka.connection import KafkaConnection
from engine.ops.store import read_audit
from engine.runtime.app import Engine
from engine.saga.model import SagaState
from engine.workload.histories import HistoryOptions, account_id_for, deal_history, master_data
from tests.integration.engine_support import cli as run_cli
from tests.integration.engine_support import engine_settings, publish_all, states, wait_for_states

pytestmark = pytest.mark.kafka
DEAL = "X-1"
Q2C = "quote-to-cash"


cli = partial(run_cli, user="sre-carol")


def state_of(all_states: dict[tuple[str, str], SagaState]) -> str | None:
    s = all_states.get((Q2C, DEAL))
    return None if s is None else s.state


async def test_missing_account_exception_is_retried_after_the_fix(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("Q2C_HTTP_ENABLED", "false")
    settings = await engine_settings(kafka_bootstrap, unique)
    entity, account = master_data([DEAL])
    history = deal_history(DEAL, HistoryOptions(base_time=datetime.now(UTC)))
    await publish_all(settings, [entity, history[0]])  # the account is missing

    engine = Engine(settings, worker_id="w1")
    await engine.start()
    try:
        parked = await wait_for_states(settings, lambda s: state_of(s) == "exception", timeout_s=60)
        assert state_of(parked) == "exception"
        # No such saga: not found (exit 3), nothing published.
        out = await asyncio.to_thread(cli, settings, "exceptions", "retry", "NO-SUCH-DEAL", code=3)
        assert "no quote-to-cash saga 'NO-SUCH-DEAL'" in out

        listed = json.loads(await asyncio.to_thread(cli, settings, "exceptions", "list", "--json"))
        assert [(i["saga_key"], i["attempt"]) for i in listed] == [(DEAL, 0)]
        assert f"account {account_id_for(DEAL)} is not in master data" in listed[0]["reason"]
        assert listed[0]["age_seconds"] >= 0

        await publish_all(settings, [account])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while account_id_for(DEAL) not in engine.validator.data.accounts and loop.time() < deadline:
            await asyncio.sleep(0.2)  # the validator's global table has to see the fix first

        out = await asyncio.to_thread(cli, settings, "exceptions", "retry", DEAL)
        assert f"retry 1 requested for {DEAL}" in out
        moved = await wait_for_states(
            settings, lambda s: state_of(s) not in (None, "exception", "validating"), timeout_s=60
        )
        assert state_of(moved) == "creating_project"
        assert moved[(Q2C, DEAL)].data["attempt"] == 1

        await publish_all(settings, history[1:])
        done = await wait_for_states(settings, lambda s: state_of(s) == "completed", timeout_s=90)
        assert state_of(done) == "completed"
        listed = json.loads(await asyncio.to_thread(cli, settings, "exceptions", "list", "--json"))
        assert listed == []
    finally:
        await engine.stop()

    audit = await read_audit(
        KafkaConnection.from_settings(settings).options(), settings.topic_prefix
    )
    assert [(a.action, a.by, a.target, a.details["attempt"]) for a in audit] == [
        ("exceptions.retry", "sre-carol", DEAL, 1)
    ]
    assert (await states(settings))[(Q2C, DEAL)].state == "completed"
