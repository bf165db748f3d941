"""Business helpers shared by the shipped sagas: money, billing periods, standard commands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from engine.contracts import DealCancelled, IssueInvoice, UpdateCrmStatus
from engine.saga import Context, Outcome, SagaCommand

TIME_AND_MATERIALS = "TIME_AND_MATERIALS"
# Money is Avro decimal(20, 4): every computed amount is rounded to that scale.
_MONEY_SCALE = Decimal("0.0001")

Json = Mapping[str, Any]
# Data fields of the sagas that follow a deal (time-and-expense, milestone-to-revenue) that any
# viewer may see: ids and the cancel reason.
FOLLOWER_SAFE_FIELDS = ("deal_id", "project_id", "reason")
# What the CRM shows of a deal: the deal saga's business states, plus "invoiced" per invoice.
CrmStatus = Literal[
    "validating",
    "exception",
    "creating_project",
    "awaiting_activation",
    "scheduling_billing",
    "active",
    "invoiced",
    "completed",
    "cancelled",
]


def money(amount: Decimal, currency: str) -> dict[str, Any]:
    """A Money value, rounded half-up to the contract scale (4 places)."""
    return {"amount": amount.quantize(_MONEY_SCALE, rounding=ROUND_HALF_UP), "currency": currency}


def is_time_and_materials(contract: Json) -> bool:
    """Whether the contract bills time and expenses rather than milestones."""
    return bool(contract["billing_model"] == TIME_AND_MATERIALS)


def start_of_day(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def period_of(contract: Json, day: date) -> int:
    """Billing period index of `day`: floor((day - start_date) / billing_period_days)."""
    elapsed: int = (day - contract["start_date"]).days
    return elapsed // int(contract["billing_period_days"])


def period_close(contract: Json, period: int) -> datetime:
    """When `period` closes: midnight UTC after its last day (start + (n+1) * period days)."""
    days = (period + 1) * int(contract["billing_period_days"])
    return start_of_day(contract["start_date"] + timedelta(days=days))


def final_period(contract: Json) -> int:
    """The billing period that contains the contract's end date."""
    return period_of(contract, contract["end_date"])


def within_term(contract: Json, day: date) -> bool:
    """Whether `day` falls between the contract's start and end dates (inclusive)."""
    return bool(contract["start_date"] <= day <= contract["end_date"])


def retry_qualifier(attempt: int) -> str:
    """ "" for the first attempt, "retry-<n>" for a deliberate retry n."""
    return "" if attempt == 0 else f"retry-{attempt}"


def attempt_step(step: str, attempt: int) -> str:
    """`step` for the first attempt, "<step>:retry-<n>" for a deliberate retry n: a retry is a
    new command, a redelivery is not."""
    qualifier = retry_qualifier(attempt)
    return f"{step}:{qualifier}" if qualifier else step


def crm_status(
    ctx: Context[object, Json], status: CrmStatus, detail: str | None = None, qualifier: str = ""
) -> SagaCommand:
    """update-crm-status; `qualifier` keeps repeated statuses (per invoice, per retry) distinct."""
    step = f"crm-status:{status}" + (f":{qualifier}" if qualifier else "")
    return ctx.send(
        UpdateCrmStatus, step=step, deal_id=ctx.saga_key, status=status, detail=detail or ""
    )


def invoice_line(
    description: str, quantity: Decimal, unit_price: Decimal, currency: str
) -> dict[str, Any]:
    """An InvoiceLine whose amount is quantity x unit price."""
    return {
        "description": description,
        "quantity": quantity,
        "unit_price": money(unit_price, currency),
        "amount": money(quantity * unit_price, currency),
    }


def issue_invoice(
    ctx: Context[object, Json], step: str, project_id: str, contract: Json, lines: Sequence[Json]
) -> SagaCommand:
    """issue-invoice whose invoice_reference is its own idempotency key (billing echoes it)."""
    currency = contract["currency"]
    total = sum((line["amount"]["amount"] for line in lines), Decimal(0))
    return ctx.send(
        IssueInvoice,
        step=step,
        project_id=project_id,
        deal_id=ctx.saga_key,
        invoice_reference=f"{ctx.saga_key}:{step}",
        lines=list(lines),
        total=money(total, currency),
        payment_terms_days=contract["payment_terms_days"],
    )


def milestone_step(milestone_id: str) -> str:
    """The step (and so the invoice reference suffix) of a milestone's invoice."""
    return f"invoice:milestone:{milestone_id}"


def milestone_of_reference(deal_id: str, reference: str) -> str | None:
    """The milestone id of a milestone invoice reference of this deal, else None."""
    prefix = f"{deal_id}:{milestone_step('')}"
    return reference[len(prefix) :] if reference.startswith(prefix) else None


def without_key(mapping: Json, key: str) -> dict[str, Any]:
    """A copy of `mapping` without `key`."""
    return {k: v for k, v in mapping.items() if k != key}


def stop_on_cancel(ctx: Context[DealCancelled, Json]) -> Outcome:
    """deal-cancelled for a follower saga: nothing further is issued (its timers are disarmed
    on entering the terminal state); the reason is kept."""
    return Outcome(data={"reason": ctx.payload.reason}, detail="deal cancelled")
