"""The engine drives a milestone deal through quote-to-cash on a real broker."""

from __future__ import annotations

from collections import Counter

import pytest

from engine.runtime.app import Engine
from engine.workload.histories import HistoryOptions, deal_history, master_data
from tests.integration.engine_support import (
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
        final = await wait_for_states(
            settings,
            lambda s: (
                set(states_of(s, "quote-to-cash").values()) == {"completed"}
                and len(states_of(s, "quote-to-cash")) == 2
            ),
            timeout_s=90,
        )
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
