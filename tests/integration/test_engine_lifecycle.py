"""The engine drives a milestone deal through quote-to-cash on a real broker."""

from __future__ import annotations

import asyncio
import gc
import json
from collections import Counter

import pytest
from prometheus_client import REGISTRY
from typer.testing import CliRunner

from engine.cli.main import app
from engine.runtime.app import Engine
from engine.runtime.full_collections import NEVER
from engine.workload.histories import HistoryOptions, deal_history, master_data
from tests.integration.engine_support import (
    all_completed,
    engine_settings,
    publish_all,
    read_commands,
    states_of,
    wait_for_states,
)

pytestmark = pytest.mark.kafka


@pytest.mark.parametrize("correlated", [True, False], ids=["with-saga-key", "source-ids-only"])
async def test_milestone_deal_completes(
    kafka_bootstrap: str, unique: str, correlated: bool
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    deals = ["D-1", "D-2"]
    await publish_all(settings, master_data(deals))
    opts = HistoryOptions(milestones=2, correlated_replies=correlated)
    await publish_all(settings, [e for d in deals for e in deal_history(d, opts)])
    engine = Engine(settings, worker_id="w1")
    await engine.start()
    try:
        final = await wait_for_states(settings, all_completed(2), timeout_s=90)
    finally:
        await engine.stop()
    assert states_of(final, "quote-to-cash") == {"D-1": "completed", "D-2": "completed"}
    commands = await read_commands(settings)
    keys = Counter(c.header.idempotency_key for c in commands)
    assert all(n == 1 for n in keys.values()), [k for k, n in keys.items() if n > 1]
    types = Counter(c.header.command_type for c in commands if c.header.saga_key == "D-1")
    assert types["validate-account"] == 1
    assert types["create-project"] == 1
    assert types["create-billing-schedule"] == 1
    assert types["issue-invoice"] == 2
    assert types["recognize-revenue"] == 2


def _full_collections_run() -> float:
    return REGISTRY.get_sample_value("q2c_gc_full_collection_seconds_count") or 0.0


async def test_the_worker_schedules_full_collections_and_hands_them_back(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique, gc_full_interval_s=0.2)
    before, threshold = _full_collections_run(), gc.get_threshold()
    await publish_all(settings, master_data(["D-9"]))
    await publish_all(settings, deal_history("D-9"))
    engine = Engine(settings, worker_id="w1")
    await engine.start()
    try:
        await wait_for_states(settings, all_completed(1), timeout_s=90)
        assert gc.get_threshold()[2] == NEVER  # no ~120 ms full collection at CPython's whim
        await asyncio.sleep(0.5)
        assert _full_collections_run() > before  # the worker runs them, on its interval
    finally:
        await engine.stop()
    assert gc.get_threshold() == threshold


async def test_sagas_show_prints_state_and_history(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    await publish_all(settings, master_data(["D-7"]))
    await publish_all(settings, deal_history("D-7")[:1])  # closed-won only
    engine = Engine(settings, worker_id="w1")
    await engine.start()
    try:
        await wait_for_states(
            settings, lambda s: states_of(s, "quote-to-cash").get("D-7") == "creating_project"
        )
    finally:
        await engine.stop()
    monkeypatch.setenv("Q2C_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("Q2C_TOPIC_PREFIX", settings.topic_prefix)
    result = await asyncio.to_thread(CliRunner().invoke, app, ["sagas", "show", "D-7", "--json"])
    assert result.exit_code == 0, result.output
    shown = {s["saga_type"]: s for s in json.loads(result.output)}
    q2c = shown["quote-to-cash"]
    assert q2c["state"] == "creating_project"
    assert [h["to"] for h in q2c["history"]] == ["validating", "creating_project"]
    assert "activation-sla" not in json.dumps(q2c["timers"])  # armed only once the project exists
    missing = await asyncio.to_thread(CliRunner().invoke, app, ["sagas", "show", "D-none"])
    assert missing.exit_code == 3  # not found, told apart from a failure
