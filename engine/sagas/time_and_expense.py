"""time-and-expense: bill approved time and expenses of a T&M contract, period by period.

Keyed by deal_id and started only by a TIME_AND_MATERIALS closed-won (any other deal goes to the
terminal `not_applicable`). Approved time (hours x the rate card's hourly rate for the entry's
role) and approved expenses accumulate in billing period n = floor((date - start_date) /
billing_period_days). When a period closes (a timer at start + (n+1) periods) one issue-invoice
bills it, one line per role and one per expense category; an empty period raises no invoice.
The saga completes when the period holding the contract's end date has been closed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypedDict, TypeVar

from engine.contracts import ClosedWon, DealCancelled, ExpenseApproved, TimeEntryApproved
from engine.saga import (
    Context,
    Effect,
    Outcome,
    SagaDefinition,
    SetTimer,
    TimerFiring,
    plain,
    timer,
    transition,
)
from engine.saga.hooks import HOUR, SagaHooks, SagaView
from engine.sagas.common import (
    FOLLOWER_SAFE_FIELDS,
    TIME_AND_MATERIALS,
    Json,
    final_period,
    invoice_line,
    issue_invoice,
    period_close,
    period_of,
    stop_on_cancel,
    within_term,
)

NAME = "time-and-expense"
PERIOD_CLOSE = "period-close"

Bucket = dict[str, Any]


class TimeAndExpenseData(TypedDict, total=False):
    """The saga's data (a plain dict at run time: the state codec reads and writes it)."""

    deal_id: str
    contract: Json  # Contract
    periods: dict[str, Bucket]  # billing period index (as text) -> what it accrued
    rejected: dict[str, str]  # item id -> why
    closed_through: int  # the last closed period, -1 before the first
    invoices: dict[str, str]  # period index -> invoice reference
    project_id: str
    reason: str | None


E = TypeVar("E")
Ctx = Context[E, TimeAndExpenseData]


def _period_timer(contract: Json, period: int) -> SetTimer:
    return SetTimer(
        f"{PERIOD_CLOSE}:{period}", PERIOD_CLOSE, period_close(contract, period), {"period": period}
    )


def _empty_bucket() -> Bucket:
    return {"time": {}, "expenses": {}, "entries": {}}


# --- guards -------------------------------------------------------------------------------


def time_and_materials(ctx: Ctx[ClosedWon]) -> bool:
    """The won deal bills time and materials."""
    return ctx.payload.contract.billing_model == TIME_AND_MATERIALS


def not_time_and_materials(ctx: Ctx[ClosedWon]) -> bool:
    """The won deal bills milestones: nothing for this saga to do."""
    return not time_and_materials(ctx)


def _is_new(ctx: Ctx[object], item_id: str) -> bool:
    # Ids are checked per period bucket so recording an item copies one bucket, not all ids.
    if item_id in ctx.data["rejected"]:
        return False
    return not any(item_id in bucket["entries"] for bucket in ctx.data["periods"].values())


def new_time_entry(ctx: Ctx[TimeEntryApproved]) -> bool:
    """A time entry not counted (or rejected) before: re-sent entries count once."""
    return _is_new(ctx, ctx.payload.entry.entry_id)


def new_expense(ctx: Ctx[ExpenseApproved]) -> bool:
    """An expense not counted (or rejected) before."""
    return _is_new(ctx, ctx.payload.expense.expense_id)


# --- handlers -----------------------------------------------------------------------------


def begin(ctx: Ctx[ClosedWon]) -> Outcome:
    """closed-won (T&M): remember the contract and arm the first period's close."""
    contract = plain(ctx.payload.contract)
    data = {
        "deal_id": ctx.payload.deal_id,
        "contract": contract,
        "periods": {},
        "rejected": {},
        "closed_through": -1,
        "invoices": {},
    }
    return Outcome(effects=(_period_timer(contract, 0),), data=data)


def not_applicable(ctx: Ctx[ClosedWon]) -> Outcome:
    """closed-won (milestone billing): this saga ignores the deal."""
    model = ctx.payload.contract.billing_model.value
    return Outcome(data={"deal_id": ctx.payload.deal_id}, detail=f"billing model {model}")


def _accrue(
    ctx: Ctx[TimeEntryApproved | ExpenseApproved],
    item_id: str,
    day: date,
    rejection: str | None,
    add: Callable[[Bucket], Bucket],
) -> Outcome:
    """Record one approved item in its billing period, or as rejected with the reason.

    An item dated in a period that is already closed (invoiced) goes into the oldest period
    still open: approvals can lag the work, and re-opening an issued invoice is not possible,
    so the late item is billed with the next invoice instead of being lost.
    """
    project = {"project_id": ctx.data.get("project_id") or ctx.payload.project_id}
    if rejection is not None:
        rejected = {**ctx.data["rejected"], item_id: rejection}
        return Outcome(data={**project, "rejected": rejected}, detail=rejection)
    period = max(period_of(ctx.data["contract"], day), int(ctx.data["closed_through"]) + 1)
    key = str(period)
    bucket = ctx.data["periods"].get(key) or _empty_bucket()
    bucket = add({**bucket, "entries": {**bucket["entries"], item_id: day}})
    return Outcome(data={**project, "periods": {**ctx.data["periods"], key: bucket}})


def _out_of_term(contract: Json, kind: str, item_id: str, day: date) -> str | None:
    if within_term(contract, day):
        return None
    return f"{kind} {item_id} rejected: {day} is outside the contract term"


def record_time(ctx: Ctx[TimeEntryApproved]) -> Outcome:
    """time-entry-approved: hours per role in the entry's period (unknown role: rejected)."""
    entry = ctx.payload.entry
    contract = ctx.data["contract"]
    role = entry.resource.role
    rates = {r["role"]: r for r in contract["rate_card"]["rates"]}
    rejection = _out_of_term(contract, "time entry", entry.entry_id, entry.work_date)
    if rejection is None and role not in rates:
        rejection = f"time entry {entry.entry_id} rejected: no hourly rate for role {role!r}"

    def add(bucket: Bucket) -> Bucket:
        hours = bucket["time"].get(role, Decimal(0)) + entry.hours
        return {**bucket, "time": {**bucket["time"], role: hours}}

    return _accrue(ctx, entry.entry_id, entry.work_date, rejection, add)


def record_expense(ctx: Ctx[ExpenseApproved]) -> Outcome:
    """expense-approved: amount per category in the expense's period."""
    expense = ctx.payload.expense
    contract = ctx.data["contract"]
    category = expense.category
    rejection = _out_of_term(contract, "expense", expense.expense_id, expense.expense_date)
    currency = expense.amount.currency
    if rejection is None and currency != contract["currency"]:
        rejection = (
            f"expense {expense.expense_id} rejected: currency {currency} is not the "
            f"contract currency {contract['currency']}"
        )

    def add(bucket: Bucket) -> Bucket:
        total = bucket["expenses"].get(category, Decimal(0)) + expense.amount.amount
        return {**bucket, "expenses": {**bucket["expenses"], category: total}}

    return _accrue(ctx, expense.expense_id, expense.expense_date, rejection, add)


def _lines(contract: Json, period: int, bucket: Bucket) -> list[dict[str, Any]]:
    currency = contract["currency"]
    rates = {r["role"]: r["hourly_rate"]["amount"] for r in contract["rate_card"]["rates"]}
    lines = [
        invoice_line(f"{role} time, period {period}", hours, rates[role], currency)
        for role, hours in sorted(bucket["time"].items())
    ]
    lines += [
        invoice_line(f"{category} expenses, period {period}", Decimal(1), amount, currency)
        for category, amount in sorted(bucket["expenses"].items())
    ]
    return lines


def close_period(ctx: Ctx[TimerFiring]) -> Outcome:
    """A period closed: invoice it (when it has anything billable), then open the next one."""
    period = int(ctx.payload.data["period"])
    contract = ctx.data["contract"]
    bucket = ctx.data["periods"].get(str(period))
    effects: tuple[Effect, ...] = ()
    data: dict[str, Any] = {"closed_through": period}
    if bucket and (bucket["time"] or bucket["expenses"]):
        step = f"te-invoice:period:{period}"
        lines = _lines(contract, period, bucket)
        effects = (issue_invoice(ctx, step, ctx.data["project_id"], contract, lines),)
        data["invoices"] = {**ctx.data["invoices"], str(period): f"{ctx.saga_key}:{step}"}
        detail = f"period {period} closed: invoice requested"
    else:
        detail = f"period {period} closed: nothing to bill"
    if period >= final_period(contract):
        return Outcome("completed", effects, data, detail)
    return Outcome("accruing", (*effects, _period_timer(contract, period + 1)), data, detail)


TIME_AND_EXPENSE = SagaDefinition(
    name=NAME,
    description=(
        "T&M deals only: accumulate approved time (hours x role rate) and expenses per billing "
        "period and issue one invoice per closed period until the contract's last period."
    ),
    starts_on=(ClosedWon,),
    states=("pending", "accruing", "completed", "cancelled", "not_applicable"),
    terminal=("completed", "cancelled", "not_applicable"),
    transitions=(
        transition("pending", ClosedWon, "accruing", begin, guard=time_and_materials),
        transition(
            "pending", ClosedWon, "not_applicable", not_applicable, guard=not_time_and_materials
        ),
        transition("accruing", TimeEntryApproved, "accruing", record_time, guard=new_time_entry),
        transition("accruing", ExpenseApproved, "accruing", record_expense, guard=new_expense),
        transition("accruing", timer(PERIOD_CLOSE), ("accruing", "completed"), close_period),
        transition("accruing", DealCancelled, "cancelled", stop_on_cancel),
    ),
)
# Only ids are shown to viewers; no business metrics or exception actions of its own.
TIME_AND_EXPENSE_HOOKS = SagaHooks(
    view=SagaView(safe_fields=FOLLOWER_SAFE_FIELDS, expected_seconds={"pending": 24 * HOUR})
)
