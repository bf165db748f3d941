"""quote-to-cash: from a won deal to a validated account, an active project, invoices and cash.

Keyed by deal_id. Milestone contracts invoice each completed milestone and complete when every
milestone is invoiced and paid. Time-and-materials contracts track the invoices the
time-and-expense saga raises and complete once the contract has ended and all of them are paid.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NotRequired, TypedDict, TypeVar

from engine.contracts import (
    AccountValidated,
    AccountValidationFailed,
    BillingScheduleCreated,
    CancelBillingSchedule,
    ClosedWon,
    CloseProject,
    CreateBillingSchedule,
    CreateProject,
    DealCancelled,
    Escalate,
    ExceptionCancelRequested,
    ExceptionRetryRequested,
    InvoiceIssued,
    MilestoneCompleted,
    PaymentFailed,
    PaymentReceived,
    ProjectActivated,
    ProjectCreated,
    SendDunning,
    ValidateAccount,
)
from engine.saga import (
    CancelTimer,
    Context,
    Correlate,
    Effect,
    Outcome,
    SagaDefinition,
    SetTimer,
    TimerFiring,
    park,
    plain,
    timer,
    transition,
)
from engine.sagas.common import (
    Json,
    attempt_step,
    crm_status,
    final_period,
    invoice_line,
    is_time_and_materials,
    issue_invoice,
    milestone_step,
    money,
    period_close,
    retry_qualifier,
    start_of_day,
)

NAME = "quote-to-cash"
ACTIVATION_SLA = "activation-sla"
DUNNING = "dunning"
CONTRACT_END = "contract-end"
# The time-and-expense saga raises its last invoice when the final period closes; waiting one
# more day before judging "everything paid" lets that invoice-issued arrive first.
CONTRACT_END_GRACE = timedelta(days=1)

BEFORE_PROJECT = ("validating", "exception", "creating_project")
PRE_ACTIVE = (*BEFORE_PROJECT, "awaiting_activation", "scheduling_billing")
LIVE = (*PRE_ACTIVE, "active")

E = TypeVar("E")


class InvoiceRecord(TypedDict):
    """An invoice of the deal as the saga keeps it (`QuoteToCashData.invoices`)."""

    reference: str
    total: Json  # Money
    due_date: date
    paid_amount: Decimal
    payment_ids: list[str]
    paid: bool
    issued_at: datetime
    paid_at: NotRequired[datetime | None]


class QuoteToCashData(TypedDict, total=False):
    """The saga's data (a plain dict at run time: the state codec reads and writes it)."""

    deal_id: str
    account: Json  # Account
    contract: Json  # Contract
    activation_sla_hours: int
    closed_won_at: datetime
    attempt: int
    reason: str | None
    project_id: str
    sla_breached: bool
    activated_at: datetime
    schedule_id: str
    billing_ready_at: datetime
    invoiced_milestones: dict[str, str]  # milestone id -> invoice reference
    milestones_completed_at: dict[str, datetime]
    invoices: dict[str, InvoiceRecord]  # by invoice id
    dunned: list[str]  # invoice ids
    payment_failures: dict[str, int]  # invoice id -> the last failed collection attempt dunned
    contract_ended: bool
    cancelled_in: str
    completions: int  # times the deal completed (a late invoice reopens it)


Ctx = Context[E, QuoteToCashData]


# --- guards -------------------------------------------------------------------------------


def newer_attempt(ctx: Ctx[ExceptionRetryRequested]) -> bool:
    """A retry request for an attempt not made yet (a re-sent request is not a new retry)."""
    return ctx.payload.attempt > int(ctx.data.get("attempt", 0))


def our_project(ctx: Ctx[MilestoneCompleted | ProjectActivated]) -> bool:
    """The event is about this deal's project."""
    return ctx.payload.project_id == ctx.data.get("project_id")


def milestone_due(ctx: Ctx[MilestoneCompleted]) -> bool:
    """A milestone of this contract that has not been invoiced yet."""
    mid = ctx.payload.milestone_id
    known = any(m["milestone_id"] == mid for m in ctx.data["contract"]["milestones"])
    return our_project(ctx) and known and mid not in ctx.data.get("invoiced_milestones", {})


def new_invoice_of_deal(ctx: Ctx[InvoiceIssued]) -> bool:
    """An invoice raised for this deal (by any saga) that is not recorded yet."""
    invoice = ctx.payload.invoice
    return invoice.invoice_reference.startswith(
        f"{ctx.saga_key}:"
    ) and invoice.invoice_id not in ctx.data.get("invoices", {})


def new_payment_of_known_invoice(ctx: Ctx[PaymentReceived]) -> bool:
    """A payment not applied yet, for an invoice already recorded (else it waits for it)."""
    payment = ctx.payload.payment
    invoice = ctx.data.get("invoices", {}).get(payment.invoice_id)
    return invoice is not None and payment.payment_id not in invoice["payment_ids"]


def new_failure_of_unpaid_invoice(ctx: Ctx[PaymentFailed]) -> bool:
    """A later collection attempt than any seen on a recorded invoice that is still unpaid
    (a redelivered or out-of-order failure repeats or lowers the count: nothing to do)."""
    invoice_id = ctx.payload.invoice_id
    invoice = ctx.data.get("invoices", {}).get(invoice_id)
    seen = ctx.data.get("payment_failures", {}).get(invoice_id, 0)
    return invoice is not None and not invoice["paid"] and ctx.payload.attempt_count > seen


def invoice_unpaid(ctx: Ctx[TimerFiring]) -> bool:
    """The dunned invoice still has an amount due."""
    return not ctx.data["invoices"][ctx.payload.data["invoice_id"]]["paid"]


def project_not_recorded(ctx: Ctx[ProjectCreated]) -> bool:
    """A late reply about a project this (cancelled) saga never recorded."""
    return "project_id" not in ctx.data


def schedule_not_recorded(ctx: Ctx[BillingScheduleCreated]) -> bool:
    """A late reply about a billing schedule this (cancelled) saga never recorded."""
    return "schedule_id" not in ctx.data


# --- handlers -----------------------------------------------------------------------------


def _validate_account(ctx: Ctx[object], data: Any, attempt: int) -> tuple[Effect, ...]:
    return (
        ctx.send(
            ValidateAccount,
            step=attempt_step("validate-account", attempt),
            deal_id=ctx.saga_key,
            account=data["account"],
            contract_currency=data["contract"]["currency"],
        ),
        crm_status(ctx, "validating", qualifier=retry_qualifier(attempt)),
    )


def begin(ctx: Ctx[ClosedWon]) -> Outcome:
    """closed-won: remember the deal and ask master data to validate the account."""
    p = ctx.payload
    data = {
        "deal_id": p.deal_id,
        "account": plain(p.account),
        "contract": plain(p.contract),
        "activation_sla_hours": p.activation_sla_hours,
        "closed_won_at": ctx.event.occurred_at,
        "attempt": 0,
    }
    return Outcome(effects=_validate_account(ctx, data, 0), data=data)


def retry_validation(ctx: Ctx[ExceptionRetryRequested]) -> Outcome:
    """exception-retry-requested: validate again under a new, attempt-numbered step."""
    attempt = ctx.payload.attempt
    return Outcome(
        effects=_validate_account(ctx, ctx.data, attempt),
        data={"attempt": attempt, "reason": None},
        detail=f"retry {attempt} requested",
    )


def validation_failed(ctx: Ctx[AccountValidationFailed]) -> Outcome:
    """account-validation-failed: park the deal in `exception` with the reason; no project."""
    reason = ctx.payload.reason
    qualifier = retry_qualifier(int(ctx.data["attempt"]))
    return Outcome(
        effects=(crm_status(ctx, "exception", reason, qualifier),),
        data={"reason": reason},
        detail=reason,
    )


def create_project(ctx: Ctx[AccountValidated]) -> Outcome:
    """account-validated: ask the ERP for a project, with the validated legal data."""
    p = ctx.payload
    account = {
        **ctx.data["account"],
        "legal_entity": p.legal_entity,
        "tax_registration": p.tax_registration,
    }
    command = ctx.send(
        CreateProject,
        step="create-project",
        deal_id=ctx.saga_key,
        account=account,
        contract=ctx.data["contract"],
    )
    return Outcome(
        effects=(command, crm_status(ctx, "creating_project")), data={"account": account}
    )


def await_activation(ctx: Ctx[ProjectCreated]) -> Outcome:
    """project-created: correlate the ERP project id and start the activation SLA clock."""
    project_id = ctx.payload.project_id
    hours = int(ctx.data["activation_sla_hours"])
    sla = SetTimer(
        ACTIVATION_SLA,
        ACTIVATION_SLA,
        ctx.data["closed_won_at"] + timedelta(hours=hours),
        {"hours": hours},
    )
    effects = (Correlate("project_id", project_id), sla, crm_status(ctx, "awaiting_activation"))
    return Outcome(effects=effects, data={"project_id": project_id})


def escalate_activation(ctx: Ctx[TimerFiring]) -> Outcome:
    """Activation SLA expired while still awaiting activation: escalate, keep waiting."""
    detail = f"project {ctx.data['project_id']} not activated within {ctx.payload.data['hours']}h"
    command = ctx.send(
        Escalate,
        step=f"escalate:{ACTIVATION_SLA}",
        deal_id=ctx.saga_key,
        kind=ACTIVATION_SLA,
        detail=detail,
    )
    return Outcome(effects=(command,), data={"sla_breached": True}, detail=detail)


def schedule_billing(ctx: Ctx[ProjectActivated]) -> Outcome:
    """project-activated: stop the SLA clock and ask billing for a schedule."""
    command = ctx.send(
        CreateBillingSchedule,
        step="create-billing-schedule",
        project_id=ctx.data["project_id"],
        deal_id=ctx.saga_key,
        contract=ctx.data["contract"],
    )
    effects = (CancelTimer(ACTIVATION_SLA), command, crm_status(ctx, "scheduling_billing"))
    # Business timestamps (event time) feed the cycle-time metrics.
    return Outcome(effects=effects, data={"activated_at": ctx.event.occurred_at})


def activate(ctx: Ctx[BillingScheduleCreated]) -> Outcome:
    """billing-schedule-created: billing starts; a T&M contract arms its end-of-contract timer."""
    contract = ctx.data["contract"]
    effects: tuple[Effect, ...] = (crm_status(ctx, "active"),)
    if is_time_and_materials(contract):
        end = period_close(contract, final_period(contract)) + CONTRACT_END_GRACE
        effects += (SetTimer(CONTRACT_END, CONTRACT_END, end, {}),)
    data = {"schedule_id": ctx.payload.schedule_id, "billing_ready_at": ctx.event.occurred_at}
    return Outcome(effects=effects, data=data)


def invoice_milestone(ctx: Ctx[MilestoneCompleted]) -> Outcome:
    """milestone-completed: invoice that milestone once, with the contract's amount."""
    mid = ctx.payload.milestone_id
    contract = ctx.data["contract"]
    milestone = next(m for m in contract["milestones"] if m["milestone_id"] == mid)
    line = invoice_line(
        milestone["name"], Decimal(1), milestone["amount"]["amount"], contract["currency"]
    )
    step = milestone_step(mid)
    command = issue_invoice(ctx, step, ctx.data["project_id"], contract, [line])
    invoiced = {**ctx.data.get("invoiced_milestones", {}), mid: f"{ctx.saga_key}:{step}"}
    completed_at = {**ctx.data.get("milestones_completed_at", {}), mid: ctx.event.occurred_at}
    # Completion is re-checked here too: billing may echo an invoice (and be paid) before the
    # milestone-completed that requested it is seen, e.g. after a state restore.
    outcome = _active_or_completed(
        ctx, {"invoiced_milestones": invoiced, "milestones_completed_at": completed_at}, (command,)
    )
    return replace(outcome, detail=f"milestone {mid} completed: invoice requested")


def record_invoice(ctx: Ctx[InvoiceIssued]) -> Outcome:
    """invoice-issued: correlate it, tell CRM, and arm dunning for when it falls overdue."""
    invoice = ctx.payload.invoice
    invoice_id = invoice.invoice_id
    record = {
        "reference": invoice.invoice_reference,
        "total": plain(invoice.total),
        "due_date": invoice.due_date,
        "paid_amount": Decimal(0),
        "payment_ids": [],
        "paid": False,
        "issued_at": ctx.event.occurred_at,
    }
    # "At the due date" means once it has passed: a payment on the due date is on time.
    dunning = SetTimer(
        f"{DUNNING}:{invoice_id}",
        DUNNING,
        start_of_day(invoice.due_date + timedelta(days=1)),
        {"invoice_id": invoice_id},
    )
    detail = f"invoice {invoice_id} issued ({invoice.invoice_reference})"
    effects = (
        Correlate("invoice_id", invoice_id),
        crm_status(ctx, "invoiced", detail, qualifier=invoice_id),
        dunning,
    )
    invoices = {**ctx.data.get("invoices", {}), invoice_id: record}
    return Outcome(effects=effects, data={"invoices": invoices}, detail=detail)


def _settled(data: Any) -> bool:
    """Whether the deal is fully billed and paid (the completion rule of each billing model)."""
    invoices = data.get("invoices", {})
    if not all(inv["paid"] for inv in invoices.values()):
        return False
    if is_time_and_materials(data["contract"]):
        return bool(data.get("contract_ended", False))
    references = {inv["reference"] for inv in invoices.values()}
    invoiced = data.get("invoiced_milestones", {})
    return all(
        invoiced.get(m["milestone_id"]) in references for m in data["contract"]["milestones"]
    )


def _active_or_completed(
    ctx: Ctx[object], data: dict[str, Any], effects: tuple[Effect, ...]
) -> Outcome:
    merged = {**ctx.data, **data}
    if _settled(merged):
        # A reopened deal (a late invoice) completes again: each completion is its own CRM
        # update, or the CRM would drop the second one as a duplicate of the first. The count
        # is part of the state, so a redelivered event still yields the same key.
        completions = int(ctx.data.get("completions", 0))
        status = crm_status(ctx, "completed", qualifier=reopen_qualifier(completions))
        return Outcome("completed", (*effects, status), {**data, "completions": completions + 1})
    return Outcome("active", effects, data)


def reopen_qualifier(completions: int) -> str:
    """ "" for a deal's first completion, "reopen-<n>" for the completion after reopening n."""
    return "" if completions == 0 else f"reopen-{completions}"


def record_payment(ctx: Ctx[PaymentReceived]) -> Outcome:
    """payment-received: add to the invoice's paid amount; paid in full stops its dunning."""
    payment = ctx.payload.payment
    invoice_id = payment.invoice_id
    invoice = ctx.data["invoices"][invoice_id]
    paid_amount = invoice["paid_amount"] + payment.amount.amount
    paid = paid_amount >= invoice["total"]["amount"]
    updated = {
        **invoice,
        "paid_amount": paid_amount,
        "payment_ids": [*invoice["payment_ids"], payment.payment_id],
        "paid": paid,
        "paid_at": ctx.event.occurred_at if paid else None,
    }
    effects: tuple[Effect, ...] = (CancelTimer(f"{DUNNING}:{invoice_id}"),) if paid else ()
    invoices = {**ctx.data["invoices"], invoice_id: updated}
    return _active_or_completed(ctx, {"invoices": invoices}, effects)


def send_dunning(ctx: Ctx[TimerFiring]) -> Outcome:
    """Dunning timer fired on an unpaid invoice: ask billing to chase the amount due."""
    invoice_id = ctx.payload.data["invoice_id"]
    invoice = ctx.data["invoices"][invoice_id]
    due = invoice["total"]["amount"] - invoice["paid_amount"]
    days = (ctx.event.occurred_at.date() - invoice["due_date"]).days
    command = ctx.send(
        SendDunning,
        step=f"dunning:{invoice_id}",
        deal_id=ctx.saga_key,
        invoice_id=invoice_id,
        amount_due=money(due, invoice["total"]["currency"]),
        days_overdue=days,
    )
    dunned = [*ctx.data.get("dunned", []), invoice_id]
    detail = f"invoice {invoice_id} overdue by {days} day(s)"
    return Outcome(effects=(command,), data={"dunned": dunned}, detail=detail)


def dun_failed_payment(ctx: Ctx[PaymentFailed]) -> Outcome:
    """payment-failed: billing could not collect an issued invoice: chase it now, once per
    attempt, without waiting for the due-date timer (which still fires if it stays unpaid)."""
    invoice_id = ctx.payload.invoice_id
    attempt = ctx.payload.attempt_count
    invoice = ctx.data["invoices"][invoice_id]
    due = invoice["total"]["amount"] - invoice["paid_amount"]
    days = max(0, (ctx.payload.failed_at.date() - invoice["due_date"]).days)
    command = ctx.send(
        SendDunning,
        step=f"dunning:{invoice_id}:attempt-{attempt}",
        deal_id=ctx.saga_key,
        invoice_id=invoice_id,
        amount_due=money(due, invoice["total"]["currency"]),
        days_overdue=days,
    )
    failures = {**ctx.data.get("payment_failures", {}), invoice_id: attempt}
    detail = f"payment of invoice {invoice_id} failed (attempt {attempt}): dunning sent"
    return Outcome(effects=(command,), data={"payment_failures": failures}, detail=detail)


def end_contract(ctx: Ctx[TimerFiring]) -> Outcome:
    """T&M contract term (and its last billing period) is over: complete once all is paid."""
    return _active_or_completed(ctx, {"contract_ended": True}, ())


def _compensations(ctx: Ctx[object], reason: str) -> tuple[Effect, ...]:
    """Undo what the saga already caused, by what it has recorded so far (its stage)."""
    effects: list[Effect] = []
    if "project_id" in ctx.data:
        effects.append(close_project_command(ctx, ctx.data["project_id"], reason))
    if "schedule_id" in ctx.data:
        effects.append(cancel_schedule_command(ctx, ctx.data["project_id"], reason))
    return tuple(effects)


def close_project_command(ctx: Ctx[object], project_id: str, reason: str) -> Effect:
    """close-project, one per deal."""
    return ctx.send(
        CloseProject,
        step="close-project",
        project_id=project_id,
        deal_id=ctx.saga_key,
        reason=reason,
    )


def cancel_schedule_command(ctx: Ctx[object], project_id: str, reason: str) -> Effect:
    """cancel-billing-schedule, one per deal."""
    return ctx.send(
        CancelBillingSchedule,
        step="cancel-billing-schedule",
        project_id=project_id,
        deal_id=ctx.saga_key,
        reason=reason,
    )


def cancel(ctx: Ctx[DealCancelled | ExceptionCancelRequested]) -> Outcome:
    """deal-cancelled / exception-cancel-requested: compensate by stage, then `cancelled`."""
    reason = ctx.payload.reason or f"{ctx.event.event_type} in {ctx.state}"
    effects = (*_compensations(ctx, reason), crm_status(ctx, "cancelled", reason))
    return Outcome(
        effects=effects, data={"reason": reason, "cancelled_in": ctx.state}, detail=reason
    )


def close_late_project(ctx: Ctx[ProjectCreated]) -> Outcome:
    """A project created after the deal was cancelled (create-project was in flight): close it."""
    project_id = ctx.payload.project_id
    reason = f"deal cancelled: {ctx.data['reason']}"
    return Outcome(
        effects=(close_project_command(ctx, project_id, reason),),
        data={"project_id": project_id},
        detail=f"late project {project_id} closed",
    )


def cancel_late_schedule(ctx: Ctx[BillingScheduleCreated]) -> Outcome:
    """A billing schedule created after the deal was cancelled: cancel it."""
    reason = f"deal cancelled: {ctx.data['reason']}"
    return Outcome(
        effects=(cancel_schedule_command(ctx, ctx.payload.project_id, reason),),
        data={"schedule_id": ctx.payload.schedule_id},
        detail=f"late billing schedule {ctx.payload.schedule_id} cancelled",
    )


QUOTE_TO_CASH = SagaDefinition(
    name=NAME,
    description=(
        "Won deal -> account validation -> ERP project -> activation (SLA) -> billing "
        "schedule -> milestone invoices, dunning and payments -> completed; compensates "
        "on cancellation."
    ),
    starts_on=(ClosedWon,),
    states=(
        "pending",
        "validating",
        "exception",
        "creating_project",
        "awaiting_activation",
        "scheduling_billing",
        "active",
        "completed",
        "cancelled",
    ),
    terminal=("completed", "cancelled"),
    transitions=(
        transition("pending", ClosedWon, "validating", begin),
        transition("validating", AccountValidationFailed, "exception", validation_failed),
        transition("validating", AccountValidated, "creating_project", create_project),
        transition(
            "exception",
            ExceptionRetryRequested,
            "validating",
            retry_validation,
            guard=newer_attempt,
        ),
        transition("exception", ExceptionCancelRequested, "cancelled", cancel),
        transition("creating_project", ProjectCreated, "awaiting_activation", await_activation),
        transition(
            "awaiting_activation",
            timer(ACTIVATION_SLA),
            "awaiting_activation",
            escalate_activation,
        ),
        transition(
            "awaiting_activation",
            ProjectActivated,
            "scheduling_billing",
            schedule_billing,
            guard=our_project,
        ),
        transition("scheduling_billing", BillingScheduleCreated, "active", activate),
        transition(
            "active",
            MilestoneCompleted,
            ("active", "completed"),
            invoice_milestone,
            guard=milestone_due,
        ),
        transition("active", InvoiceIssued, "active", record_invoice, guard=new_invoice_of_deal),
        # A T&M deal can be judged complete before the time-and-expense saga's last invoice
        # comes back from billing; that invoice reopens the deal until it is paid.
        transition("completed", InvoiceIssued, "active", record_invoice, guard=new_invoice_of_deal),
        transition(
            "active",
            PaymentReceived,
            ("active", "completed"),
            record_payment,
            guard=new_payment_of_known_invoice,
        ),
        transition(
            "active",
            PaymentFailed,
            "active",
            dun_failed_payment,
            guard=new_failure_of_unpaid_invoice,
        ),
        transition("active", timer(DUNNING), "active", send_dunning, guard=invoice_unpaid),
        transition("active", timer(CONTRACT_END), ("active", "completed"), end_contract),
        transition(LIVE, DealCancelled, "cancelled", cancel),
        transition(
            "cancelled",
            ProjectCreated,
            "cancelled",
            close_late_project,
            guard=project_not_recorded,
        ),
        transition(
            "cancelled",
            BillingScheduleCreated,
            "cancelled",
            cancel_late_schedule,
            guard=schedule_not_recorded,
        ),
    ),
    park_in=(
        # Replies and ERP/billing events can overtake the step they follow.
        park(ProjectCreated, ("validating",)),
        park(ProjectActivated, (*BEFORE_PROJECT, "awaiting_activation")),
        park(BillingScheduleCreated, (*BEFORE_PROJECT, "awaiting_activation")),
        park(MilestoneCompleted, PRE_ACTIVE),
        park(InvoiceIssued, PRE_ACTIVE),
        # In `active` a payment also waits for the invoice-issued it pays.
        park(PaymentReceived, LIVE),
    ),
)
