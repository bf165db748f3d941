"""What the simulated ERP, billing and CRM do with each command (pure behaviours)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.contracts import (
    BillingScheduleCreated,
    ClosedWon,
    Command,
    ExpenseApproved,
    InvoiceIssued,
    InvoiceLine,
    MilestoneCompleted,
    Money,
    PaymentReceived,
    ProjectActivated,
    ProjectCreated,
    TimeEntryApproved,
)
from engine.simulators.billing import BillingBehaviour, BillingConfig
from engine.simulators.crm import CrmBehaviour
from engine.simulators.deals import DealConfig, generate_deals
from engine.simulators.demo import DemoOptions, sim_config
from engine.simulators.erp import ErpBehaviour
from engine.simulators.platforms import SimConfig
from tests.command_builders import command as build_command

START = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def command(command_type: str, saga_key: str, step: str, **fields: Any) -> Command:
    """A command issued at the behaviours' fixed NOW."""
    return build_command(command_type, saga_key, step, issued_at=NOW, **fields)


def deals(milestone: bool) -> list[ClosedWon]:
    config = DealConfig(bad_fraction=0.0, milestone_fraction=1.0 if milestone else 0.0)
    return [d.closed_won for d in generate_deals(10, seed=3, start=START, config=config).deals]


def create(erp: ErpBehaviour, won: ClosedWon) -> Any:
    cmd = command(
        "create-project",
        won.deal_id,
        "create-project",
        deal_id=won.deal_id,
        account=won.account,
        contract=won.contract,
    )
    return erp.handle(cmd, NOW)


def test_create_project_answers_at_once_then_activates_and_completes_milestones() -> None:
    erp = ErpBehaviour(random.Random(1), correlate_fraction=1.0)
    for won in deals(milestone=True):
        reaction = create(erp, won)
        (created,) = reaction.now
        assert isinstance(created, ProjectCreated) and created.deal_id == won.deal_id
        project_id = created.project_id
        assert erp.project_of_deal[won.deal_id] == project_id
        later = sorted(reaction.later, key=lambda x: x[0])
        activated_at, tag, activated = later[0]
        assert isinstance(activated, ProjectActivated) and tag == project_id
        assert NOW < activated_at <= NOW + timedelta(hours=36)
        completions = [e for _, _, e in later if isinstance(e, MilestoneCompleted)]
        assert [m.milestone_id for m in completions] == [
            m.milestone_id for m in won.contract.milestones
        ]
        assert all(due > activated_at for due, _, _ in later[1:])
        assert all(e.envelope.correlation_id == won.deal_id for _, _, e in later)


def test_time_and_materials_approvals_fall_inside_their_billing_period() -> None:
    erp = ErpBehaviour(random.Random(2))
    for won in deals(milestone=False):
        contract = won.contract
        assert contract.rate_card is not None
        roles = {r.role for r in contract.rate_card.rates}
        reaction = create(erp, won)
        entries = [(at, e) for at, _, e in reaction.later if isinstance(e, TimeEntryApproved)]
        expenses = [(at, e) for at, _, e in reaction.later if isinstance(e, ExpenseApproved)]
        assert entries, won.deal_id
        for at, event in entries:
            day = event.entry.work_date
            assert contract.start_date <= day <= contract.end_date
            assert event.entry.resource.role in roles
            period = (day - contract.start_date).days // contract.billing_period_days
            closes = contract.start_date + timedelta(
                days=(period + 1) * contract.billing_period_days
            )
            assert at < datetime.combine(closes, datetime.min.time(), tzinfo=UTC)
        for _, expense in expenses:
            assert expense.expense.amount.currency == contract.currency


def test_close_project_cancels_its_plan_and_revenue_is_recorded() -> None:
    erp = ErpBehaviour(random.Random(3))
    won = deals(milestone=True)[0]
    project_id = create(erp, won).now[0].project_id
    close = command(
        "close-project",
        won.deal_id,
        "close-project",
        project_id=project_id,
        deal_id=won.deal_id,
        reason="deal cancelled",
    )
    assert erp.handle(close, NOW).cancel_tags == [project_id]
    assert erp.projects[project_id].closed
    amount = Money(amount=Decimal("100"), currency=won.contract.currency)
    revenue = command(
        "recognize-revenue",
        won.deal_id,
        "revenue:x",
        project_id=project_id,
        deal_id=won.deal_id,
        milestone_id="M1",
        invoice_reference=f"{won.deal_id}:invoice:milestone:M1",
        amount=amount,
    )
    assert erp.handle(revenue, NOW).now == []
    assert erp.revenue[won.deal_id] == [("M1", amount)]


def test_correlate_fraction_leaves_the_rest_with_own_ids_only() -> None:
    erp = ErpBehaviour(random.Random(4), correlate_fraction=0.8)
    events = [e for won in deals(milestone=False) for _, _, e in create(erp, won).later]
    correlated = sum(e.envelope.correlation_id is not None for e in events)
    assert 0.7 < correlated / len(events) < 0.9
    uncorrelated = [e for e in events if e.envelope.correlation_id is None]
    assert all("project_id" in e.envelope.source_ids for e in uncorrelated)


def _issue(
    billing: BillingBehaviour, deal_id: str, step: str, terms: int = 30, project_id: str = "PRJ-1"
) -> Any:
    line = InvoiceLine(
        description="Design sign-off",
        quantity=Decimal(1),
        unit_price=Money(amount=Decimal("1200.50"), currency="EUR"),
        amount=Money(amount=Decimal("1200.50"), currency="EUR"),
    )
    cmd = command(
        "issue-invoice",
        deal_id,
        step,
        project_id=project_id,
        deal_id=deal_id,
        invoice_reference=f"{deal_id}:{step}",
        lines=(line,),
        total=Money(amount=Decimal("1200.50"), currency="EUR"),
        payment_terms_days=terms,
    )
    return cmd, billing.handle(cmd, NOW)


def test_issue_invoice_echoes_the_key_and_plans_the_payment() -> None:
    billing = BillingBehaviour(random.Random(5), correlate_fraction=0.0)
    cmd, reaction = _issue(billing, "D-1", "invoice:milestone:M1", terms=30)
    (issued,) = reaction.now
    assert isinstance(issued, InvoiceIssued)
    invoice = issued.invoice
    assert invoice.invoice_reference == cmd.header.idempotency_key == "D-1:invoice:milestone:M1"
    assert invoice.lines == cmd.lines and invoice.total == cmd.total
    assert invoice.due_date == date(2026, 4, 1)
    # correlate_fraction 0: only the billing system's own ids and the echoed reference.
    assert issued.envelope.correlation_id is None
    assert issued.envelope.source_ids == {"invoice_id": invoice.invoice_id}
    ((paid_at, tag, payment),) = reaction.later
    assert paid_at > NOW and paid_at.date() <= invoice.due_date  # on time by default
    assert isinstance(payment, PaymentReceived) and tag == invoice.invoice_id
    assert payment.payment.amount == invoice.total
    assert payment.envelope.correlation_id is None
    assert billing.invoices_by_deal["D-1"] == [invoice.invoice_id]


def test_late_payers_pay_after_the_due_date() -> None:
    billing = BillingBehaviour(random.Random(6), config=BillingConfig(late_payment_fraction=1.0))
    _, reaction = _issue(billing, "D-2", "invoice:milestone:M1", terms=15)
    due = reaction.now[0].invoice.due_date
    assert reaction.later[0][0].date() > due


def test_schedule_cancel_and_dunning_are_recorded() -> None:
    billing = BillingBehaviour(random.Random(7))
    contract = deals(milestone=True)[0].contract
    create = command(
        "create-billing-schedule",
        "D-3",
        "create-billing-schedule",
        project_id="PRJ-9",
        deal_id="D-3",
        contract=contract,
    )
    (created,) = billing.handle(create, NOW).now
    assert isinstance(created, BillingScheduleCreated) and created.project_id == "PRJ-9"
    _, reaction = _issue(billing, "D-3", "invoice:milestone:M1", project_id="PRJ-9")
    invoice_id = reaction.now[0].invoice.invoice_id
    dunning = command(
        "send-dunning",
        "D-3",
        f"dunning:{invoice_id}",
        deal_id="D-3",
        invoice_id=invoice_id,
        amount_due=Money(amount=Decimal("1200.50"), currency="EUR"),
        days_overdue=3,
    )
    billing.handle(dunning, NOW)
    assert billing.invoices[invoice_id].dunning_notices == 1
    cancel = command(
        "cancel-billing-schedule",
        "D-3",
        "cancel-billing-schedule",
        project_id="PRJ-9",
        deal_id="D-3",
        reason="deal cancelled",
    )
    billing.handle(cancel, NOW)
    assert billing.schedules["PRJ-9"].cancelled
    assert billing.schedules["PRJ-9"].invoices == [invoice_id]


def test_crm_keeps_the_latest_status_and_escalations() -> None:
    crm = CrmBehaviour()
    for status in ("validating", "creating_project", "active"):
        crm.handle(
            command(
                "update-crm-status",
                "D-4",
                f"crm-status:{status}",
                deal_id="D-4",
                status=status,
                detail="",
            ),
            NOW,
        )
    crm.handle(
        command(
            "escalate",
            "D-4",
            "escalate:activation-sla",
            deal_id="D-4",
            kind="activation-sla",
            detail="late",
        ),
        NOW,
    )
    assert crm.status["D-4"] == "active"
    assert crm.status_history["D-4"] == ["validating", "creating_project", "active"]
    assert [e.kind for e in crm.escalations] == ["activation-sla"]


def test_a_demo_answers_only_its_own_deals_commands_and_simulate_answers_all() -> None:
    book = generate_deals(3, seed=3, start=START, config=DealConfig(id_prefix="r1-"))
    own, other = book.deals[0].deal_id, "r0-D-00001"  # the other from an earlier run
    demo = sim_config(DemoOptions(deals=3), "r1-", book)
    standalone = SimConfig()  # what `q2c simulate` runs
    for deal_id, by_demo in ((own, True), (other, False)):
        cmd = command(
            "update-crm-status",
            deal_id,
            "status:active",
            deal_id=deal_id,
            status="active",
            detail="",
        )
        assert demo.answers(cmd) is by_demo
        assert standalone.answers(cmd)
