"""quote-to-cash's declarations for the generic layers: business metrics, correlation ids,
exception actions and read-API views (pure). Registered with the saga in `engine.sagas`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.contracts import (
    Envelope,
    Event,
    ExceptionCancelRequested,
    ExceptionRetryRequested,
    InvoiceIssued,
)
from engine.exceptions_queue.queue import EXCEPTION_STATE
from engine.saga.hooks import (
    HOUR,
    Data,
    ExceptionPolicy,
    IdPair,
    Observation,
    SagaHooks,
    SagaView,
    jsonable,
)
from engine.saga.model import SagaState

# Who publishes operator requests (`q2c exceptions`, the API) onto the saga inbox.
OPS_SOURCE_SYSTEM = "q2c-ops"
# "closed_won" counts every deal; then the happy path, in order: deals that ever reached each.
FUNNEL = (
    "closed_won",
    "validating",
    "creating_project",
    "awaiting_activation",
    "scheduling_billing",
    "active",
    "completed",
)
# Business timestamps (event time) kept in the saga's data, as (cycle, start, end).
CYCLES = (
    ("closed_won_to_activation", "closed_won_at", "activated_at"),
    ("activation_to_billing_ready", "activated_at", "billing_ready_at"),
)
CYCLE_NAMES = (*(name for name, _, _ in CYCLES), "milestone_to_invoice", "invoice_to_payment")
# Data fields safe to show any viewer: ids and timestamps, never amounts, names or tax ids.
SAFE_DATA_FIELDS = (
    "deal_id",
    "project_id",
    "schedule_id",
    "closed_won_at",
    "activated_at",
    "billing_ready_at",
    "attempt",
    "reason",
    "sla_breached",
    "contract_ended",
    "cancelled_in",
)


def _seconds(start: Any, end: Any) -> float | None:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return max(0.0, (end - start).total_seconds())
    return None


def cycle_observations(before: Data, after: Data) -> list[Observation]:
    """Cycle times completed by this step: each is observed once, when its end appears."""
    out: list[Observation] = []
    for name, start, end in CYCLES:
        if before.get(end) is None and after.get(end) is not None:
            seconds = _seconds(after.get(start), after[end])
            if seconds is not None:
                out.append((name, seconds))
    old_invoices = before.get("invoices", {})
    completed = after.get("milestones_completed_at", {})
    by_reference = {ref: mid for mid, ref in after.get("invoiced_milestones", {}).items()}
    for invoice_id, invoice in after.get("invoices", {}).items():
        old = old_invoices.get(invoice_id)
        if old is None:
            milestone = by_reference.get(invoice.get("reference"))
            seconds = _seconds(completed.get(milestone), invoice.get("issued_at"))
            if seconds is not None:
                out.append(("milestone_to_invoice", seconds))
        if invoice.get("paid_at") is not None and (old is None or old.get("paid_at") is None):
            seconds = _seconds(invoice.get("issued_at"), invoice["paid_at"])
            if seconds is not None:
                out.append(("invoice_to_payment", seconds))
    return out


def sla_breaches(before: Data, after: Data) -> list[str]:
    """Kinds of deadline newly missed in this step."""
    kinds = []
    if after.get("sla_breached") and not before.get("sla_breached"):
        kinds.append("activation")
    if len(after.get("dunned", ())) > len(before.get("dunned", ())):
        kinds.append("payment")
    return kinds


def cycle_times(data: Data) -> dict[str, list[float]]:
    """The seconds each cycle of one deal took (event time), from its own timestamps."""
    out: dict[str, list[float]] = {name: [] for name in CYCLE_NAMES}
    for name, start, end in CYCLES:
        seconds = _seconds(data.get(start), data.get(end))
        if seconds is not None:
            out[name].append(seconds)
    completed = data.get("milestones_completed_at", {})
    by_reference = {ref: mid for mid, ref in data.get("invoiced_milestones", {}).items()}
    for inv in data.get("invoices", {}).values():
        issued = inv.get("issued_at")
        seconds = _seconds(completed.get(by_reference.get(inv.get("reference"))), issued)
        if seconds is not None:
            out["milestone_to_invoice"].append(seconds)
        seconds = _seconds(issued, inv.get("paid_at"))
        if seconds is not None:
            out["invoice_to_payment"].append(seconds)
    return out


def invoice_status(state: SagaState) -> dict[str, Any]:
    """Invoices and payments of a deal as the quote-to-cash saga recorded them (not billing's)."""
    data = state.data
    by_reference = {ref: mid for mid, ref in data.get("invoiced_milestones", {}).items()}
    invoices = []
    for invoice_id, inv in sorted(data.get("invoices", {}).items()):
        total = inv.get("total", {})
        invoices.append(
            {
                "invoice_id": invoice_id,
                "reference": inv.get("reference"),
                "milestone_id": by_reference.get(inv.get("reference")),
                "total": jsonable(total.get("amount")),
                "currency": total.get("currency"),
                "paid_amount": jsonable(inv.get("paid_amount")),
                "paid": bool(inv.get("paid")),
                "issued_at": jsonable(inv.get("issued_at")),
                "due_date": jsonable(inv.get("due_date")),
                "paid_at": jsonable(inv.get("paid_at")),
                "payment_ids": list(inv.get("payment_ids", [])),
                "dunned": invoice_id in data.get("dunned", []),
            }
        )
    issued_refs = {inv["reference"] for inv in invoices}
    requested = sorted(
        mid for mid, ref in data.get("invoiced_milestones", {}).items() if ref not in issued_refs
    )
    return {
        "deal_id": state.saga_key,
        "state": state.state,
        "invoices": invoices,
        "requested_not_issued": requested,
        "all_paid": all(i["paid"] for i in invoices),
    }


def invoice_ids(model: Event) -> list[IdPair]:
    """A new invoice is only known by the reference the saga gave it in issue-invoice (its
    idempotency key); its own invoice id becomes known once the saga has seen it."""
    assert isinstance(model, InvoiceIssued)
    return [("invoice_reference", model.invoice.invoice_reference)]


def next_attempt(state: SagaState) -> int:
    """The attempt number an exception-retry-requested must carry to count as a new retry."""
    return int(state.data.get("attempt", 0)) + 1


def _envelope(event_type: str, key: str) -> Envelope:
    return Envelope.new(event_type, OPS_SOURCE_SYSTEM, correlation_id=key)


def retry_request(state: SagaState, by: str, reason: str) -> Event:
    """Validate the account again (after the data was fixed), as attempt + 1: a retry sent
    twice is applied once (the saga's `newer_attempt` guard)."""
    return ExceptionRetryRequested(
        envelope=_envelope(ExceptionRetryRequested.EVENT_TYPE, state.saga_key),
        deal_id=state.saga_key,
        attempt=next_attempt(state),
        requested_by=by,
        reason=reason,
    )


def cancel_request(state: SagaState, by: str, reason: str) -> Event:
    """Give the deal up: the saga compensates and ends `cancelled`."""
    return ExceptionCancelRequested(
        envelope=_envelope(ExceptionCancelRequested.EVENT_TYPE, state.saga_key),
        deal_id=state.saga_key,
        requested_by=by,
        reason=reason,
    )


QUOTE_TO_CASH_HOOKS = SagaHooks(
    cycle_observations=cycle_observations,
    sla_breaches=sla_breaches,
    correlation_ids={InvoiceIssued.EVENT_TYPE: invoice_ids},
    exceptions=ExceptionPolicy(EXCEPTION_STATE, retry_request, cancel_request, next_attempt),
    view=SagaView(
        safe_fields=SAFE_DATA_FIELDS,
        funnel=FUNNEL,
        cycle_names=CYCLE_NAMES,
        cycle_times=cycle_times,
        documents={"invoices": invoice_status},
        expected_seconds={
            "pending": 1 * HOUR,
            "validating": 1 * HOUR,
            "creating_project": 4 * HOUR,
            "awaiting_activation": 72 * HOUR,
            "scheduling_billing": 4 * HOUR,
        },
    ),
)
