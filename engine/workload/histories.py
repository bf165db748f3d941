"""Builds complete, deterministic event histories of milestone deals (no broker involved).

Every reply a platform would send is known in advance (the ERP project id, the invoice
references the saga derives from its idempotency keys), so a whole lifecycle can be published
at once, in any order: the engine parks what arrives early. Used by the crash, scale-out and
replay tests and by `q2c bench`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from engine.contracts import (
    Account,
    AccountMasterUpserted,
    BillingScheduleCreated,
    ClosedWon,
    Contract,
    Envelope,
    Event,
    Invoice,
    InvoiceIssued,
    InvoiceLine,
    LegalEntityUpserted,
    Milestone,
    MilestoneCompleted,
    Money,
    Payment,
    PaymentReceived,
    ProjectActivated,
    ProjectCreated,
)
from engine.contracts.shared import BillingModel

HISTORY_NAMESPACE = uuid.UUID("3d0c5e3a-7f7e-4b6e-9a55-0c1f2b9e8d41")
LEGAL_ENTITY = "LE-US-01"
CURRENCY = "USD"


@dataclass(frozen=True)
class HistoryOptions:
    milestones: int = 2
    correlated_replies: bool = True  # replies carry the deal id (else only ERP/billing ids)
    amount: Decimal = Decimal("10000.00")
    # Everything is dated from here; keep it near the engine's clock so no deadline is due.
    base_time: datetime = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    # The customer the deal is for; None: an account of its own (`account_id_for(deal)`).
    account_id: str | None = None


def _envelope(
    deal_id: str, event_type: str, n: int, source: str, correlated: bool, base: datetime
) -> Envelope:
    return Envelope(
        event_id=str(uuid.uuid5(HISTORY_NAMESPACE, f"{deal_id}/{event_type}/{n}")),
        event_type=event_type,
        occurred_at=base + timedelta(minutes=n),
        source_system=source,
        correlation_id=deal_id if correlated else None,
        schema_version=1,
    )


def account_id_for(deal_id: str) -> str:
    return f"ACC-{deal_id}"


def master_data(deal_ids: list[str]) -> list[Event]:
    """The legal entity and one valid account per deal, so validation passes."""
    return master_data_of([account_id_for(d) for d in deal_ids], keys=deal_ids)


def master_data_of(account_ids: list[str], keys: list[str] | None = None) -> list[Event]:
    """The legal entity and these valid accounts (each once); `keys` name their upserts' event
    ids (default: the account ids)."""
    base = HistoryOptions().base_time
    entity = LegalEntityUpserted(
        envelope=_envelope("md", "legal-entity-upserted", 0, "mdm", False, base),
        legal_entity_id=LEGAL_ENTITY,
        name="Q2C Services Inc.",
        country="US",
        currencies=(CURRENCY,),
        active=True,
    )
    accounts: list[Event] = [
        AccountMasterUpserted(
            envelope=_envelope(key, "account-master-upserted", 0, "mdm", False, base),
            account=_account(account_id),
            tax_registration_valid=True,
        )
        for account_id, key in dict(zip(account_ids, keys or account_ids, strict=True)).items()
    ]
    return [entity, *accounts]


def _account(account_id: str) -> Account:
    customer = account_id.removeprefix("ACC-")
    return Account(
        account_id=account_id,
        name=f"Customer of {customer}",
        legal_entity=LEGAL_ENTITY,
        country="US",
        currency=CURRENCY,
        tax_registration=f"US-TAX-{customer}",
    )


def closed_won(deal_id: str, options: HistoryOptions) -> ClosedWon:
    per = options.amount
    start = options.base_time.date()
    milestones = tuple(
        Milestone(
            milestone_id=f"M{i + 1}",
            name=f"Milestone {i + 1}",
            amount=Money(amount=per, currency=CURRENCY),
            due_date=start + timedelta(days=30 * (i + 1)),
        )
        for i in range(options.milestones)
    )
    contract = Contract(
        contract_id=f"CON-{deal_id}",
        billing_model=BillingModel.MILESTONE,
        currency=CURRENCY,
        total_value=Money(amount=per * options.milestones, currency=CURRENCY),
        payment_terms_days=30,
        start_date=start + timedelta(days=10),
        end_date=start + timedelta(days=360),
        milestones=milestones,
    )
    return ClosedWon(
        envelope=_envelope(deal_id, "closed-won", 0, "salesforce", True, options.base_time),
        deal_id=deal_id,
        account=_account(options.account_id or account_id_for(deal_id)),
        contract=contract,
        activation_sla_hours=72,
    )


def milestone_invoice_reference(deal_id: str, milestone_id: str) -> str:
    """The reference the quote-to-cash saga gives a milestone invoice (its idempotency key)."""
    return f"{deal_id}:invoice:milestone:{milestone_id}"


def deal_history(deal_id: str, options: HistoryOptions | None = None) -> list[Event]:
    """closed-won and every platform reply up to the last payment, in lifecycle order.

    account-validated is not included: the engine's account validator answers that from the
    master data of `master_data`.
    """
    opts = options or HistoryOptions()
    corr = opts.correlated_replies
    project_id = f"PRJ-{deal_id}"
    base = opts.base_time
    won = closed_won(deal_id, opts)
    events: list[Event] = [
        won,
        ProjectCreated(
            envelope=_envelope(deal_id, "project-created", 1, "netsuite", True, base),
            deal_id=deal_id,
            project_id=project_id,
        ),
        ProjectActivated(
            envelope=_envelope(deal_id, "project-activated", 2, "netsuite", corr, base),
            project_id=project_id,
            activated_at=base + timedelta(hours=5),
        ),
        BillingScheduleCreated(
            envelope=_envelope(deal_id, "billing-schedule-created", 3, "billing", corr, base),
            project_id=project_id,
            schedule_id=f"SCH-{deal_id}",
        ),
    ]
    for i, milestone in enumerate(won.contract.milestones):
        n = 10 + 10 * i
        invoice_id = f"INV-{deal_id}-{milestone.milestone_id}"
        line = InvoiceLine(
            description=f"Milestone {milestone.milestone_id}: {milestone.name}",
            quantity=Decimal("1"),
            unit_price=milestone.amount,
            amount=milestone.amount,
        )
        events += [
            MilestoneCompleted(
                envelope=_envelope(deal_id, "milestone-completed", n, "netsuite", corr, base),
                project_id=project_id,
                milestone_id=milestone.milestone_id,
                completed_at=base + timedelta(days=10 + i),
            ),
            InvoiceIssued(
                envelope=_envelope(deal_id, "invoice-issued", n + 1, "billing", corr, base),
                invoice=Invoice(
                    invoice_id=invoice_id,
                    invoice_reference=milestone_invoice_reference(deal_id, milestone.milestone_id),
                    project_id=project_id,
                    lines=(line,),
                    total=milestone.amount,
                    due_date=base.date() + timedelta(days=60 + 30 * i),
                ),
            ),
            PaymentReceived(
                envelope=_envelope(deal_id, "payment-received", n + 2, "billing", corr, base),
                payment=Payment(
                    payment_id=f"PAY-{invoice_id}",
                    invoice_id=invoice_id,
                    amount=milestone.amount,
                    received_at=base + timedelta(days=20 + i),
                ),
            ),
        ]
    return events
