"""The README's "Adding a saga" example: change-order, added with its own module, its contracts
and one registry line, is routed, run, encoded and shown by the generic layers unchanged."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.api.views import overview, saga_detail
from engine.contracts import Envelope, Event, Money
from engine.contracts.commands import UpdateBillingSchedule, UpdateProjectBudget
from engine.contracts.events import ContractAmended
from engine.runtime.names import TARGETS, TopicNames
from engine.runtime.translate import command_record, to_saga_event
from engine.saga import SagaCommand, step
from engine.saga.render import to_mermaid
from engine.sagas import REGISTRY, SAGAS, sagas_for_event
from engine.sagas.change_order import CHANGE_ORDER
from engine.simulators.demo import SAGA_TYPES
from engine.workload.reference import run_reference

NOW = datetime(2026, 2, 1, tzinfo=UTC)


def amended(
    deal_id: str, amendment_id: str, total: str, n: int, at: datetime = NOW
) -> ContractAmended:
    return ContractAmended(
        envelope=Envelope(
            event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{deal_id}/{amendment_id}/{n}")),
            event_type=ContractAmended.EVENT_TYPE,
            occurred_at=at,
            source_system="salesforce",
            schema_version=1,
        ),
        deal_id=deal_id,
        project_id=f"PRJ-{deal_id}",
        amendment_id=amendment_id,
        total_value=Money(amount=Decimal(total), currency="EUR"),
        reason="scope extended",
    )


def test_the_registry_and_the_generic_layers_find_the_new_saga() -> None:
    assert SAGAS["change-order"] is CHANGE_ORDER
    assert [d.name for d in sagas_for_event("contract-amended")] == ["change-order"]
    # The demo runs deals: it shows the sagas a deal starts, not this one.
    assert "change-order" not in SAGA_TYPES and "time-and-expense" in SAGA_TYPES
    assert "amended" in to_mermaid(CHANGE_ORDER)
    # Its command targets are existing systems: no new topic was needed.
    assert {UpdateProjectBudget.TARGET, UpdateBillingSchedule.TARGET} <= set(TARGETS)


def test_each_amendment_updates_budget_and_schedule_once() -> None:
    first, again, second = (
        amended("D-7", "CO-1", "12000.00", 1),
        amended("D-7", "CO-1", "12000.00", 2),  # CRM re-sent the same amendment
        amended("D-7", "CO-2", "15000.00", 3),
    )
    run = run_reference([first, again, again, second], [], NOW)
    state = run.states[("change-order", "D-7")]
    assert state.state == "amended"
    sent = [(type(c).__name__, c.header.idempotency_key) for c in run.commands]
    assert sent == [
        ("UpdateProjectBudget", "D-7:change-order:CO-1:budget"),
        ("UpdateBillingSchedule", "D-7:change-order:CO-1:schedule"),
        ("UpdateProjectBudget", "D-7:change-order:CO-2:budget"),
        ("UpdateBillingSchedule", "D-7:change-order:CO-2:schedule"),
    ]
    budget = run.commands[2]
    assert isinstance(budget, UpdateProjectBudget) and budget.budget.amount == Decimal("15000")
    assert {c.header.target_system for c in run.commands} == {"erp", "billing"}


def test_an_older_amendment_arriving_late_does_not_overwrite_the_newer_total() -> None:
    older = amended("D-5", "CO-1", "12000.00", 1, at=NOW)
    newer = amended("D-5", "CO-2", "15000.00", 2, at=NOW + timedelta(hours=2))
    run = run_reference([newer, older], [], NOW)
    assert [c.header.idempotency_key for c in run.commands] == [
        "D-5:change-order:CO-2:budget",
        "D-5:change-order:CO-2:schedule",
    ]
    state = run.states[("change-order", "D-5")]
    assert set(state.data["amendments"]) == {"CO-1", "CO-2"}  # recorded, not applied
    assert "superseded by the newer CO-2" in (state.history[-1].note or "")


@settings(max_examples=200, deadline=None)
@given(
    times=st.lists(st.integers(0, 10_000), min_size=1, max_size=6, unique=True),
    order=st.randoms(use_true_random=False),
    resend=st.lists(st.integers(0, 5), max_size=4),
)
def test_whatever_the_arrival_order_the_newest_amendment_is_the_last_one_sent(
    times: list[int], order: random.Random, resend: list[int]
) -> None:
    events = [
        amended("D-6", f"CO-{i}", f"{1000 + i}.00", i, at=NOW + timedelta(minutes=t))
        for i, t in enumerate(times)
    ]
    arrivals: list[Event] = [*events, *(events[i % len(events)] for i in resend)]  # re-sends
    order.shuffle(arrivals)
    run = run_reference(arrivals, [], NOW)
    budgets = [c for c in run.commands if isinstance(c, UpdateProjectBudget)]
    schedules = [c for c in run.commands if isinstance(c, UpdateBillingSchedule)]
    newest = max(events, key=lambda e: e.envelope.occurred_at)
    # What each platform is left holding is the newest amendment's total ...
    assert budgets[-1].budget == newest.total_value
    assert schedules[-1].total_value == newest.total_value
    # ... every amendment sent is newer than those sent before it, and none is sent twice.
    sent_times = [times[int(c.amendment_id.split("-")[1])] for c in budgets]
    assert sent_times == sorted(set(sent_times))


def test_a_command_goes_to_the_topic_its_class_names() -> None:
    run = run_reference([amended("D-9", "CO-1", "9000.00", 1)], [], NOW)
    saga_commands = step(
        CHANGE_ORDER, None, to_saga_event(amended("D-9", "CO-1", "9000.00", 1), "D-9"), NOW
    ).effects
    topics = [
        command_record(c, TopicNames(), NOW).topic
        for c in saga_commands
        if isinstance(c, SagaCommand)
    ]
    assert topics == ["q2c.commands.erp", "q2c.commands.billing"]
    assert len(run.commands) == 2


def test_the_read_api_shows_only_the_declared_fields() -> None:
    run = run_reference([amended("D-8", "CO-1", "9000.00", 1)], [], NOW)
    state = run.states[("change-order", "D-8")]
    detail = saga_detail(state, NOW)
    # The declared fields in clear; the amendments (amounts) masked until an operator reveals.
    assert detail["data"] == {
        "deal_id": "D-8",
        "project_id": "PRJ-D-8",
        "amendments": "[confidential]",
        "in_effect": [1769904000000000, "CO-1"],
    }
    assert "9000" in str(saga_detail(state, NOW, reveal=True)["data"]["amendments"])
    assert overview({("change-order", "D-8"): state})["by_state"] == {
        "change-order": {"amended": 1}
    }
    assert REGISTRY["change-order"].hooks.exceptions is None
