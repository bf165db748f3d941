"""Canonical commands for the connector tests, built like the engine builds them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from engine.contracts import (
    CloseProject,
    Command,
    CreateProject,
    Escalate,
    IssueInvoice,
    RecognizeRevenue,
    UpdateCrmStatus,
)
from engine.contracts.commands import UpdateBillingSchedule, UpdateProjectBudget
from tests.command_builders import command
from tests.unit.sagas_fixtures import account, milestone_contract, money

C = TypeVar("C", bound=Command)


def _as(cls: type[C], value: Command) -> C:
    assert isinstance(value, cls)
    return value


def create_project(deal: str = "D-1") -> CreateProject:
    return _as(CreateProject, command(
        "create-project", deal, "create-project", deal_id=deal, account=account(),
        contract=milestone_contract(),
    ))  # fmt: skip


def close_project(project_id: str, deal: str = "D-1") -> CloseProject:
    return _as(CloseProject, command(
        "close-project", deal, "close-project", project_id=project_id, deal_id=deal,
        reason="completed",
    ))  # fmt: skip


def invoice_lines(*amounts: str) -> list[dict[str, Any]]:
    return [
        {
            "description": f"Milestone {n}",
            "quantity": Decimal(1),
            "unit_price": money(amount),
            "amount": money(amount),
        }
        for n, amount in enumerate(amounts, start=1)
    ]


def issue_invoice(deal: str = "D-1", step: str = "invoice-1", *amounts: str) -> IssueInvoice:
    amounts = amounts or ("1000", "250.50")
    total = sum((Decimal(a) for a in amounts), Decimal(0))
    return _as(IssueInvoice, command(
        "issue-invoice", deal, step, project_id="P-1", deal_id=deal,
        invoice_reference=f"{deal}-{step}", lines=invoice_lines(*amounts),
        total=money(total), payment_terms_days=30,
    ))  # fmt: skip


def update_crm_status(
    deal: str = "D-1", status: str = "ACTIVE", step: str = "crm-1"
) -> UpdateCrmStatus:
    return _as(UpdateCrmStatus, command(
        "update-crm-status", deal, step, deal_id=deal, status=status, detail="project active"
    ))  # fmt: skip


def escalate(deal: str = "D-1") -> Escalate:
    return _as(
        Escalate, command("escalate", deal, "escalate-1", deal_id=deal, kind="sla", detail="late")
    )


def recognize_revenue(deal: str = "D-1", step: str = "revenue-M1") -> RecognizeRevenue:
    return _as(RecognizeRevenue, command(
        "recognize-revenue", deal, step, project_id="P-1", deal_id=deal, milestone_id="M1",
        invoice_reference=f"{deal}-invoice-1", amount=money("1000"),
    ))  # fmt: skip


def update_project_budget(
    deal: str = "D-1", amendment: str = "A-1", budget: str = "12500", project_id: str = "P-1"
) -> UpdateProjectBudget:
    return _as(UpdateProjectBudget, command(
        "update-project-budget", deal, f"change-order:{amendment}:budget", project_id=project_id,
        deal_id=deal, amendment_id=amendment, budget=money(budget),
    ))  # fmt: skip


def update_billing_schedule(
    deal: str = "D-1", amendment: str = "A-1", total: str = "12500"
) -> UpdateBillingSchedule:
    return _as(UpdateBillingSchedule, command(
        "update-billing-schedule", deal, f"change-order:{amendment}:schedule", project_id="P-1",
        deal_id=deal, amendment_id=amendment, total_value=money(total),
    ))  # fmt: skip
