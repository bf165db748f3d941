"""Failure paths on a real broker: validation failure, cancellation at each stage, SLA expiry."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from engine.contracts import DealCancelled, Envelope
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


class FakeClock:
    """The engine's clock, moved by the test (deadlines fire without waiting days)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def cancelled(deal_id: str) -> DealCancelled:
    return DealCancelled(
        envelope=Envelope(
            event_id=str(uuid.uuid4()),
            event_type="deal-cancelled",
            occurred_at=datetime.now(UTC),
            source_system="salesforce",
            correlation_id=deal_id,
            schema_version=1,
        ),
        deal_id=deal_id,
        reason="customer withdrew",
    )


async def test_validation_failure_cancellations_and_sla_expiry(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    base = datetime.now(UTC)
    opts = HistoryOptions(base_time=base)
    history = {d: deal_history(d, opts) for d in ("C-1", "C-2", "C-3", "S-1", "V-1")}
    await publish_all(settings, master_data(["C-1", "C-2", "C-3", "S-1"]))  # V-1 has no account
    clock = FakeClock(base)
    engine = Engine(settings, clock=clock, worker_id="paths", http=False)
    await engine.start()
    try:
        await publish_all(
            settings,
            [
                *history["V-1"][:1],
                *history["C-1"][:1],
                *history["C-2"][:2],  # closed-won, project-created
                *history["C-3"][:4],  # ... project-activated, billing-schedule-created
                *history["S-1"][:2],
            ],
        )
        await wait_for_states(
            settings,
            lambda s: (
                states_of(s, "quote-to-cash")
                == {
                    "V-1": "exception",
                    "C-1": "creating_project",
                    "C-2": "awaiting_activation",
                    "C-3": "active",
                    "S-1": "awaiting_activation",
                }
            ),
            timeout_s=60,
        )
        await publish_all(settings, [cancelled("C-1"), cancelled("C-2"), cancelled("C-3")])
        clock.now = base + timedelta(hours=73)  # past S-1's 72 h activation SLA
        final = await wait_for_states(
            settings,
            lambda s: (
                states_of(s, "quote-to-cash").get("C-3") == "cancelled"
                and s[("quote-to-cash", "S-1")].data.get("sla_breached") is True
            ),
            timeout_s=60,
        )
    finally:
        await engine.stop()
    q2c = states_of(final, "quote-to-cash")
    assert q2c == {
        "V-1": "exception",
        "C-1": "cancelled",
        "C-2": "cancelled",
        "C-3": "cancelled",
        "S-1": "awaiting_activation",
    }
    assert "not in master data" in str(final[("quote-to-cash", "V-1")].data.get("reason"))
    commands: dict[str, list[str]] = defaultdict(list)
    for c in await read_commands(settings):
        commands[c.header.saga_key].append(c.header.command_type)
    assert "create-project" not in commands["V-1"]
    assert "close-project" not in commands["C-1"]  # nothing to compensate yet
    assert commands["C-2"].count("close-project") == 1
    assert "cancel-billing-schedule" not in commands["C-2"]
    assert commands["C-3"].count("close-project") == 1
    assert commands["C-3"].count("cancel-billing-schedule") == 1
    assert commands["S-1"].count("escalate") == 1
