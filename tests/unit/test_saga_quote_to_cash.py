"""quote-to-cash: lifecycle, failure paths, compensation, SLA and dunning."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from engine.saga import CancelTimer, Correlate, SagaEvent, SetTimer
from engine.sagas import SAGAS
from tests.unit.sagas_fixtures import (
    DEAL,
    PROJECT,
    T0,
    History,
    Item,
    Tick,
    milestone_contract,
    milestone_happy_path,
    milestone_ref,
    run,
    tm_contract,
)

Q2C = SAGAS["quote-to-cash"]


def test_milestone_deal_runs_to_completed() -> None:
    result = run(Q2C, milestone_happy_path(History()))
    assert result.state.state == "completed"
    assert result.keys == {
        f"{DEAL}:validate-account",
        f"{DEAL}:create-project",
        f"{DEAL}:create-billing-schedule",
        f"{DEAL}:invoice:milestone:M1",
        f"{DEAL}:invoice:milestone:M2",
        f"{DEAL}:crm-status:validating",
        f"{DEAL}:crm-status:creating_project",
        f"{DEAL}:crm-status:awaiting_activation",
        f"{DEAL}:crm-status:scheduling_billing",
        f"{DEAL}:crm-status:active",
        f"{DEAL}:crm-status:invoiced:I-1",
        f"{DEAL}:crm-status:invoiced:I-2",
        f"{DEAL}:crm-status:completed",
    }
    assert [s.to_state for s in result.statuses() if s.from_state != s.to_state] == [
        "validating",
        "creating_project",
        "awaiting_activation",
        "scheduling_billing",
        "active",
        "completed",
    ]
    assert result.correlations() == {
        Correlate("project_id", PROJECT),
        Correlate("invoice_id", "I-1"),
        Correlate("invoice_id", "I-2"),
    }
    invoice = result.by_key()[f"{DEAL}:invoice:milestone:M1"]
    assert invoice["invoice_reference"] == milestone_ref("M1")
    assert invoice["total"] == {"amount": Decimal("1000.0000"), "currency": "EUR"}
    assert invoice["lines"][0]["description"] == "Milestone M1"
    assert invoice["project_id"] == PROJECT and invoice["payment_terms_days"] == 30
    assert result.state.timers == {}
    assert all(inv["paid"] for inv in result.state.data["invoices"].values())


def test_validation_failure_goes_to_exception_without_a_project() -> None:
    h = History()
    result = run(Q2C, [h.closed_won(milestone_contract()), h.account_validation_failed("no VAT")])
    assert result.state.state == "exception"
    assert result.state.data["reason"] == "no VAT"
    assert "create-project" not in result.command_types()
    assert result.statuses()[-1].detail == "no VAT"


def test_retry_from_exception_is_a_new_validate_command() -> None:
    h = History()
    history = [
        h.closed_won(milestone_contract()),
        h.account_validation_failed(),
        h.retry(1),
        h.retry(1),  # the same request re-sent: not a second retry
        h.account_validated(),
    ]
    result = run(Q2C, history)
    assert result.state.state == "creating_project"
    validations = [
        c.idempotency_key for c in result.commands if c.command_type == "validate-account"
    ]
    assert validations == [f"{DEAL}:validate-account", f"{DEAL}:validate-account:retry-1"]


def test_cancel_requested_in_exception_cancels() -> None:
    h = History()
    history = [
        h.closed_won(milestone_contract()),
        h.account_validation_failed(),
        h.cancel_exception(),
    ]
    result = run(Q2C, history)
    assert result.state.state == "cancelled"
    assert result.command_types()[-1] == "update-crm-status"


def _prefix(h: History, stage: str) -> list[SagaEvent]:
    steps = [
        ("validating", lambda: h.closed_won(milestone_contract())),
        ("creating_project", h.account_validated),
        ("awaiting_activation", h.project_created),
        ("scheduling_billing", h.project_activated),
        ("active", h.billing_schedule_created),
    ]
    events: list[SagaEvent] = []
    for name, make in steps:
        events.append(make())
        if name == stage:
            return events
    raise AssertionError(stage)


@pytest.mark.parametrize(
    ("stage", "compensation"),
    [
        ("validating", []),
        ("creating_project", []),
        ("awaiting_activation", ["close-project"]),
        ("scheduling_billing", ["close-project"]),
        ("active", ["close-project", "cancel-billing-schedule"]),
    ],
)
def test_cancellation_compensates_by_stage(stage: str, compensation: list[str]) -> None:
    h = History()
    events = _prefix(h, stage)
    before = run(Q2C, events)
    assert before.state.state == stage
    result = run(Q2C, [h.deal_cancelled("lost budget")], before.state)
    assert result.state.state == "cancelled"
    assert result.state.data["reason"] == "lost budget"
    assert result.command_types() == [*compensation, "update-crm-status"]
    for command in result.commands[:-1]:
        assert command.payload["project_id"] == PROJECT
        assert command.idempotency_key == f"{DEAL}:{command.command_type}"
    assert result.state.timers == {}
    if stage == "awaiting_activation":
        assert CancelTimer("activation-sla") in result.effects


def test_project_created_after_cancellation_is_closed() -> None:
    h = History()
    events = [h.closed_won(milestone_contract()), h.account_validated(), h.deal_cancelled()]
    result = run(Q2C, [*events, h.project_created()])
    assert result.state.state == "cancelled"
    assert result.command_types()[-1] == "close-project"
    assert result.commands[-1].payload["project_id"] == PROJECT


def test_activation_sla_expiry_escalates_and_keeps_waiting() -> None:
    h = History()
    events = _prefix(h, "awaiting_activation")
    sla = next(e for e in run(Q2C, events).effects if isinstance(e, SetTimer))
    assert sla.fire_at == events[0].occurred_at + timedelta(hours=72)
    result = run(Q2C, [*events, Tick(sla.fire_at - timedelta(seconds=1))])
    assert "escalate" not in result.command_types()
    result = run(Q2C, [*events, Tick(sla.fire_at), Tick(sla.fire_at + timedelta(hours=1))])
    assert result.state.state == "awaiting_activation"
    assert result.command_types().count("escalate") == 1
    escalate = result.commands[-1]
    assert escalate.payload["kind"] == "activation-sla"
    assert result.statuses()[-1].detail == escalate.payload["detail"]
    # Activation still proceeds after an escalation.
    later = run(Q2C, [h.project_activated()], result.state)
    assert later.state.state == "scheduling_billing"


def test_activation_in_time_disarms_the_sla() -> None:
    h = History()
    events: list[Item] = [*_prefix(h, "scheduling_billing"), Tick(T0 + timedelta(days=10))]
    result = run(Q2C, events)
    assert "escalate" not in result.command_types()
    assert CancelTimer("activation-sla") in result.effects


def _active(h: History) -> list[SagaEvent]:
    return [*_prefix(h, "active"), h.milestone_completed("M1")]


def test_unpaid_invoice_is_dunned_once_after_its_due_date() -> None:
    h = History()
    due = date(2024, 4, 1)
    events = [*_active(h), h.invoice_issued("I-1", milestone_ref("M1"), "1000", due)]
    on_due_date = run(Q2C, [*events, Tick(T0.replace(year=2024, month=4, day=1, hour=23))])
    assert "send-dunning" not in on_due_date.command_types()
    overdue = run(
        Q2C, [*events, h.payment_received("PAY-1", "I-1", "400"), Tick(T0.replace(month=4, day=3))]
    )
    dunning = overdue.commands[-1]
    assert dunning.command_type == "send-dunning"
    assert dunning.idempotency_key == f"{DEAL}:dunning:I-1"
    assert dunning.payload["amount_due"] == {"amount": Decimal("600.0000"), "currency": "EUR"}
    assert dunning.payload["days_overdue"] == 1
    assert overdue.state.state == "active"


def test_a_failed_payment_is_dunned_at_once_and_once_per_attempt() -> None:
    h = History()
    events = [*_active(h), h.invoice_issued("I-1", milestone_ref("M1"), "1000", date(2024, 4, 1))]
    late = datetime(2024, 4, 4, 9, tzinfo=UTC)
    failed = run(
        Q2C,
        [
            *events,
            h.payment_received("PAY-1", "I-1", "400"),
            h.payment_failed("I-1", 1, "600", late),
            h.payment_failed("I-1", 1, "600", late),  # the platform resends the same attempt
        ],
    )
    assert failed.command_types().count("send-dunning") == 1
    dunning = failed.commands[-1]
    assert dunning.idempotency_key == f"{DEAL}:dunning:I-1:attempt-1"
    assert dunning.payload["amount_due"] == {"amount": Decimal("600.0000"), "currency": "EUR"}
    assert dunning.payload["days_overdue"] == 3
    assert failed.state.state == "active"
    again = run(Q2C, [h.payment_failed("I-1", 2, "600", late)], failed.state)
    assert again.commands[-1].idempotency_key == f"{DEAL}:dunning:I-1:attempt-2"


def test_a_failed_payment_of_a_paid_or_unknown_invoice_is_not_dunned() -> None:
    h = History()
    events = [
        *_active(h),
        h.invoice_issued("I-1", milestone_ref("M1"), "1000"),
        h.payment_received("PAY-1", "I-1", "1000"),
        h.payment_failed("I-1", 1, "1000"),
        h.payment_failed("I-9", 1, "1000"),
    ]
    assert "send-dunning" not in run(Q2C, events).command_types()


def test_paid_invoice_is_not_dunned() -> None:
    h = History()
    events: list[Item] = [
        *_active(h),
        h.invoice_issued("I-1", milestone_ref("M1"), "1000"),
        h.payment_received("PAY-1", "I-1", "1000"),
        Tick(T0.replace(month=12)),
    ]
    result = run(Q2C, events)
    assert "send-dunning" not in result.command_types()
    assert CancelTimer("dunning:I-1") in result.effects


def test_milestone_before_activation_is_invoiced_once_active() -> None:
    h = History()
    events = _prefix(h, "awaiting_activation")
    waiting = run(Q2C, [*events, h.milestone_completed("M2")])
    assert [e.event_type for e in waiting.state.parked] == ["milestone-completed"]
    assert "issue-invoice" not in waiting.command_types()
    result = run(Q2C, [h.project_activated(), h.billing_schedule_created()], waiting.state)
    assert result.state.state == "active"
    assert f"{DEAL}:invoice:milestone:M2" in result.keys
    assert result.state.parked == ()


def test_unknown_milestone_is_ignored_with_a_note() -> None:
    h = History()
    result = run(Q2C, [*_prefix(h, "active"), h.milestone_completed("M9")])
    assert "issue-invoice" not in result.command_types()
    assert result.state.parked == ()
    assert result.state.history[-1].note is not None


def test_time_and_materials_deal_completes_after_contract_end_and_payment() -> None:
    h = History()
    contract = tm_contract()
    events = [
        h.closed_won(contract),
        h.account_validated(),
        h.project_created(),
        h.project_activated(),
        h.billing_schedule_created(),
        h.invoice_issued("I-1", f"{DEAL}:te-invoice:period:0", "800"),
        h.invoice_issued("I-2", f"{DEAL}:te-invoice:period:1", "300"),
        h.payment_received("PAY-1", "I-1", "800"),
    ]
    # Final period (Jan 31..Mar 1) closes Mar 1 00:00; the check waits one more day.
    end = T0.replace(month=3, day=2, hour=0)
    not_yet = run(Q2C, [*events, Tick(end - timedelta(seconds=1))])
    assert not_yet.state.state == "active"
    unpaid = run(Q2C, [*events, Tick(end)])
    assert unpaid.state.state == "active"
    assert unpaid.state.data["contract_ended"] is True
    done = run(Q2C, [h.payment_received("PAY-2", "I-2", "300")], unpaid.state)
    assert done.state.state == "completed"


def test_invoice_arriving_after_completion_reopens_the_deal_until_paid() -> None:
    h = History()
    events = [
        h.closed_won(tm_contract()),
        h.account_validated(),
        h.project_created(),
        h.project_activated(),
        h.billing_schedule_created(),
        h.invoice_issued("I-1", f"{DEAL}:te-invoice:period:0", "800"),
        h.payment_received("PAY-1", "I-1", "800"),
    ]
    done = run(Q2C, [*events, Tick(T0.replace(month=3, day=2, hour=0))])
    assert done.state.state == "completed"
    late = run(Q2C, [h.invoice_issued("I-2", f"{DEAL}:te-invoice:period:1", "300")], done.state)
    assert late.state.state == "active"
    assert Correlate("invoice_id", "I-2") in late.correlations()
    paid = run(Q2C, [h.payment_received("PAY-2", "I-2", "300")], late.state)
    assert paid.state.state == "completed"
