"""The simulated billing platform: schedules, invoices and the customers' payments (pure).

issue-invoice answers invoice-issued at once (a new invoice id; `invoice_reference` echoes the
command's idempotency key; due date = issue date + payment terms) and plans the payment: most
customers pay within terms, a configurable fraction pays late (after the engine's dunning).

A milestone invoice is issued a few hours after its milestone was planned to complete (when
`milestone_done` knows it) and drawn from its own random stream, so the same seed bills the
same way however fast the engine ran; other invoices are issued when their command arrives.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from engine.contracts import (
    BillingScheduleCreated,
    CancelBillingSchedule,
    Command,
    CreateBillingSchedule,
    Invoice,
    InvoiceIssued,
    IssueInvoice,
    Payment,
    PaymentReceived,
    SendDunning,
)
from engine.sagas.common import milestone_of_reference
from engine.simulators.behaviour import EventStamper, IdSequence, Reaction

SOURCE_SYSTEM = "billing"


@dataclass(frozen=True)
class BillingConfig:
    """When customers pay: within `on_time_fraction_of_terms` of the terms, or late."""

    late_payment_fraction: float = 0.1
    on_time_fraction_of_terms: tuple[float, float] = (0.2, 0.9)
    late_days: tuple[float, float] = (2.0, 8.0)
    invoice_delay_hours: tuple[float, float] = (1.0, 8.0)


@dataclass
class InvoiceRecord:
    invoice: Invoice
    deal_id: str
    issued_at: datetime
    paid_at: datetime
    dunning_notices: int = 0


@dataclass
class ScheduleRecord:
    schedule_id: str
    project_id: str
    deal_id: str
    cancelled: bool = False
    cancel_reason: str | None = None
    invoices: list[str] = field(default_factory=list)


class BillingBehaviour:
    """Consumes `q2c.commands.billing`: schedules, invoices, cancellations and dunning."""

    target = "billing"

    def __init__(
        self,
        rng: random.Random,
        *,
        id_prefix: str = "",
        correlate_fraction: float = 0.8,
        config: BillingConfig | None = None,
        milestone_done: Callable[[str, str], datetime | None] | None = None,
    ) -> None:
        self.rng = rng
        self.config = config or BillingConfig()
        self.stamp = EventStamper(SOURCE_SYSTEM, rng, correlate_fraction)
        self._plan_seed = rng.getrandbits(64)
        self._id_prefix = id_prefix
        self._milestone_done = milestone_done or (lambda _deal_id, _milestone_id: None)
        self._schedule_ids = IdSequence(id_prefix, "SCH")
        self._invoice_ids = IdSequence(id_prefix, "INV")
        self._payment_ids = IdSequence(id_prefix, "PAY")
        self.schedules: dict[str, ScheduleRecord] = {}
        self.invoices: dict[str, InvoiceRecord] = {}
        self.invoices_by_deal: dict[str, list[str]] = {}
        self.ignored = 0

    def handle(self, command: Command, now: datetime) -> Reaction:
        if isinstance(command, CreateBillingSchedule):
            return self._schedule(command, now)
        if isinstance(command, IssueInvoice):
            return self._invoice(command, now)
        if isinstance(command, CancelBillingSchedule):
            schedule = self.schedules.get(command.project_id)
            if schedule is not None:
                schedule.cancelled = True
                schedule.cancel_reason = command.reason
            return Reaction()
        if isinstance(command, SendDunning):
            record = self.invoices.get(command.invoice_id)
            if record is not None:
                record.dunning_notices += 1
            return Reaction()
        self.ignored += 1
        return Reaction()

    def _schedule(self, command: CreateBillingSchedule, now: datetime) -> Reaction:
        schedule_id = self._schedule_ids()
        self.schedules[command.project_id] = ScheduleRecord(
            schedule_id, command.project_id, command.deal_id
        )
        event = BillingScheduleCreated(
            envelope=self.stamp.envelope(
                "billing-schedule-created",
                occurred_at=now,
                identity=f"{schedule_id}:created",
                deal_id=command.deal_id,
                source_ids={"project_id": command.project_id, "schedule_id": schedule_id},
                causation_id=command.header.command_id,
            ),
            project_id=command.project_id,
            schedule_id=schedule_id,
        )
        return Reaction(now=[event])

    def _issue_time(self, command: IssueInvoice, now: datetime) -> tuple[datetime, random.Random]:
        """When the invoice is issued, and the random stream its payment is drawn from."""
        reference = command.header.idempotency_key
        milestone_id = milestone_of_reference(command.deal_id, reference)
        done = self._milestone_done(command.deal_id, milestone_id) if milestone_id else None
        if done is None:
            return now, self.rng
        # The reference names the run's ids more than once (deal and milestone): drop them all.
        plain = reference.replace(self._id_prefix, "") if self._id_prefix else reference
        rng = random.Random(f"{self._plan_seed}:{plain}")
        return done + timedelta(hours=rng.uniform(*self.config.invoice_delay_hours)), rng

    def _invoice(self, command: IssueInvoice, received: datetime) -> Reaction:
        invoice_id = self._invoice_ids()
        now, rng = self._issue_time(command, received)
        due_date = now.date() + timedelta(days=command.payment_terms_days)
        invoice = Invoice(
            invoice_id=invoice_id,
            invoice_reference=command.header.idempotency_key,
            project_id=command.project_id,
            lines=command.lines,
            total=command.total,
            due_date=due_date,
        )
        issued = InvoiceIssued(
            # Uncorrelated ones carry only the invoice id and the echoed invoice_reference,
            # which the engine resolves through its correlation index.
            envelope=self.stamp.envelope(
                "invoice-issued",
                occurred_at=now,
                identity=f"{invoice_id}:issued",
                deal_id=command.deal_id,
                source_ids={"invoice_id": invoice_id},
                causation_id=command.header.command_id,
            ),
            invoice=invoice,
        )
        paid_at = self._payment_time(now, command.payment_terms_days, rng)
        payment = PaymentReceived(
            envelope=self.stamp.envelope(
                "payment-received",
                occurred_at=paid_at,
                identity=f"{invoice_id}:paid",
                deal_id=command.deal_id,
                source_ids={"invoice_id": invoice_id},
            ),
            payment=Payment(
                payment_id=self._payment_ids(),
                invoice_id=invoice_id,
                amount=command.total,
                received_at=paid_at,
            ),
        )
        self.invoices[invoice_id] = InvoiceRecord(invoice, command.deal_id, now, paid_at)
        self.invoices_by_deal.setdefault(command.deal_id, []).append(invoice_id)
        schedule = self.schedules.get(command.project_id)
        if schedule is not None:
            schedule.invoices.append(invoice_id)
        return Reaction(now=[issued], later=[(paid_at, invoice_id, payment)])

    def _payment_time(self, issued_at: datetime, terms_days: int, rng: random.Random) -> datetime:
        if rng.random() < self.config.late_payment_fraction:
            days = terms_days + rng.uniform(*self.config.late_days)
        else:
            days = terms_days * rng.uniform(*self.config.on_time_fraction_of_terms)
        return issued_at + timedelta(days=days)
