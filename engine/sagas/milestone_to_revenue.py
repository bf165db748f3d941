"""milestone-to-revenue: recognise revenue for every milestone invoice of a deal.

Keyed by deal_id. It needs the closed-won (the contract's milestones) before it can judge an
invoice, so invoice-issued events wait in "pending" until then. Each milestone invoice of the
deal ("<deal>:invoice:milestone:<id>") yields one recognize-revenue for the invoice total; the
saga completes when every contract milestone has been recognised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict, TypeVar

from engine.contracts import ClosedWon, DealCancelled, InvoiceIssued, RecognizeRevenue
from engine.saga import Context, Outcome, SagaDefinition, plain, transition
from engine.saga.hooks import HOUR, SagaHooks, SagaView
from engine.sagas.common import FOLLOWER_SAFE_FIELDS, milestone_of_reference, stop_on_cancel

NAME = "milestone-to-revenue"


class RevenueData(TypedDict, total=False):
    """The saga's data (a plain dict at run time: the state codec reads and writes it)."""

    deal_id: str
    milestones: list[str]  # the contract's milestone ids
    recognized: dict[str, str]  # milestone id -> invoice reference
    reason: str | None


E = TypeVar("E")
Ctx = Context[E, RevenueData]


def has_milestones(ctx: Ctx[ClosedWon]) -> bool:
    """The won contract bills milestones."""
    return bool(ctx.payload.contract.milestones)


def no_milestones(ctx: Ctx[ClosedWon]) -> bool:
    """The won contract has no milestones: no revenue to recognise here."""
    return not has_milestones(ctx)


def unrecognised_milestone_invoice(ctx: Ctx[InvoiceIssued]) -> bool:
    """A milestone invoice of this contract not recognised yet."""
    mid = milestone_of_reference(ctx.saga_key, ctx.payload.invoice.invoice_reference)
    return mid in ctx.data["milestones"] and mid not in ctx.data["recognized"]


def begin(ctx: Ctx[ClosedWon]) -> Outcome:
    """closed-won: remember which milestones the contract bills."""
    milestones = [m.milestone_id for m in ctx.payload.contract.milestones]
    return Outcome(
        data={"deal_id": ctx.payload.deal_id, "milestones": milestones, "recognized": {}}
    )


def not_applicable(ctx: Ctx[ClosedWon]) -> Outcome:
    """closed-won without milestones: nothing to recognise."""
    return Outcome(data={"deal_id": ctx.payload.deal_id}, detail="contract has no milestones")


def recognize(ctx: Ctx[InvoiceIssued]) -> Outcome:
    """invoice-issued for a milestone: recognise its total as revenue, once."""
    invoice = ctx.payload.invoice
    reference = invoice.invoice_reference
    mid = milestone_of_reference(ctx.saga_key, reference)
    assert mid is not None  # the guard matched a milestone reference
    command = ctx.send(
        RecognizeRevenue,
        step=f"revenue:{reference}",
        project_id=invoice.project_id,
        deal_id=ctx.saga_key,
        milestone_id=mid,
        invoice_reference=reference,
        amount=plain(invoice.total),
    )
    recognized = {**ctx.data["recognized"], mid: reference}
    done = set(recognized) >= set(ctx.data["milestones"])
    return Outcome(
        "completed" if done else "tracking",
        (command,),
        {"recognized": recognized},
        f"revenue recognised for milestone {mid}",
    )


MILESTONE_TO_REVENUE = SagaDefinition(
    name=NAME,
    description=(
        "Recognise revenue (recognize-revenue to the ERP) for each issued milestone invoice "
        "of the deal, for the invoice total."
    ),
    starts_on=(ClosedWon,),
    states=("pending", "tracking", "completed", "cancelled", "not_applicable"),
    terminal=("completed", "cancelled", "not_applicable"),
    transitions=(
        transition("pending", ClosedWon, "tracking", begin, guard=has_milestones),
        transition("pending", ClosedWon, "not_applicable", not_applicable, guard=no_milestones),
        transition(
            "tracking",
            InvoiceIssued,
            ("tracking", "completed"),
            recognize,
            guard=unrecognised_milestone_invoice,
        ),
        transition("tracking", DealCancelled, "cancelled", stop_on_cancel),
    ),
)


def recognised_invoices(data: Mapping[str, Any]) -> list[str]:
    """Invoice references this saga recognised revenue for (the console's finance view)."""
    return [str(r) for r in (data.get("recognized") or {}).values()]


# Only ids are shown to viewers; no business metrics or exception actions of its own.
MILESTONE_TO_REVENUE_HOOKS = SagaHooks(
    view=SagaView(
        safe_fields=FOLLOWER_SAFE_FIELDS,
        expected_seconds={"pending": 24 * HOUR},
        recognised_invoices=recognised_invoices,
    )
)
