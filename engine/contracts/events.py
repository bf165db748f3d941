"""Event models: one class per event type of CONTRACTS.md, plus the master-data records.

Each class names its `EVENT_TYPE`, its `DOMAIN` (which picks the topic) and `KEY_FIELD`, the
dotted path of the business key used as the Kafka record key.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import model_validator

from engine.contracts.base import Record
from engine.contracts.envelope import Envelope
from engine.contracts.shared import (
    Account,
    Contract,
    Expense,
    Invoice,
    Payment,
    PositiveMoney,
    TimeEntry,
)
from engine.contracts.types import CountryCode, CurrencyCode, Id, PositiveInt32, UtcTimestamp


class Event(Record):
    """Base of every event: the envelope comes first and must carry this class's event type."""

    EVENT_TYPE: ClassVar[str]
    DOMAIN: ClassVar[str]
    KEY_FIELD: ClassVar[str]
    # Compacted master-data topics are not `q2c.<domain>.events`; None means the default.
    TOPIC: ClassVar[str | None] = None

    envelope: Envelope

    @model_validator(mode="after")
    def _envelope_matches_type(self) -> Event:
        if self.envelope.event_type != self.EVENT_TYPE:
            raise ValueError(f"envelope.event_type must be {self.EVENT_TYPE!r} for this event")
        return self


class ClosedWon(Event):
    EVENT_TYPE = "closed-won"
    DOMAIN = "crm"
    KEY_FIELD = "deal_id"

    deal_id: Id
    account: Account
    contract: Contract
    activation_sla_hours: PositiveInt32 = 72

    @model_validator(mode="after")
    def _account_has_legal_entity(self) -> ClosedWon:
        # The saga cannot book anything without knowing which legal entity sells.
        if not self.account.legal_entity:
            raise ValueError("account.legal_entity is required on closed-won")
        return self


class DealCancelled(Event):
    EVENT_TYPE = "deal-cancelled"
    DOMAIN = "crm"
    KEY_FIELD = "deal_id"

    deal_id: Id
    reason: str


class AccountValidated(Event):
    EVENT_TYPE = "account-validated"
    DOMAIN = "masterdata"
    KEY_FIELD = "deal_id"

    deal_id: Id
    account_id: Id
    legal_entity: Id
    currency: CurrencyCode
    tax_registration: str | None = None


class AccountValidationFailed(Event):
    EVENT_TYPE = "account-validation-failed"
    DOMAIN = "masterdata"
    KEY_FIELD = "deal_id"

    deal_id: Id
    account_id: Id
    reason: str


class ProjectCreated(Event):
    EVENT_TYPE = "project-created"
    DOMAIN = "erp"
    KEY_FIELD = "deal_id"

    deal_id: Id
    project_id: Id


class ProjectActivated(Event):
    EVENT_TYPE = "project-activated"
    DOMAIN = "erp"
    KEY_FIELD = "project_id"

    project_id: Id
    activated_at: UtcTimestamp


class MilestoneCompleted(Event):
    EVENT_TYPE = "milestone-completed"
    DOMAIN = "erp"
    KEY_FIELD = "project_id"

    project_id: Id
    milestone_id: Id
    completed_at: UtcTimestamp


class TimeEntryApproved(Event):
    EVENT_TYPE = "time-entry-approved"
    DOMAIN = "erp"
    KEY_FIELD = "project_id"

    project_id: Id
    entry: TimeEntry


class ExpenseApproved(Event):
    EVENT_TYPE = "expense-approved"
    DOMAIN = "erp"
    KEY_FIELD = "project_id"

    project_id: Id
    expense: Expense


class BillingScheduleCreated(Event):
    EVENT_TYPE = "billing-schedule-created"
    DOMAIN = "billing"
    KEY_FIELD = "project_id"

    project_id: Id
    schedule_id: Id


class InvoiceIssued(Event):
    EVENT_TYPE = "invoice-issued"
    DOMAIN = "billing"
    KEY_FIELD = "invoice.invoice_id"

    invoice: Invoice


class PaymentReceived(Event):
    EVENT_TYPE = "payment-received"
    DOMAIN = "billing"
    KEY_FIELD = "payment.invoice_id"

    payment: Payment


class PaymentFailed(Event):
    """A collection attempt on an issued invoice failed: input of the dunning path.

    `attempt_count` numbers the billing platform's attempts (a redelivered failure repeats the
    same count); `next_attempt_at` is when the platform retries on its own, if it will.
    """

    EVENT_TYPE = "payment-failed"
    DOMAIN = "billing"
    KEY_FIELD = "invoice_id"

    invoice_id: Id
    amount_due: PositiveMoney
    attempt_count: PositiveInt32
    failed_at: UtcTimestamp
    next_attempt_at: UtcTimestamp | None = None
    reason: str | None = None


class ExceptionRetryRequested(Event):
    """Operator action: re-evaluate a saga in its exception state (after master data was fixed).

    Published straight to the saga inbox keyed by the saga key; `attempt` numbers the retry so
    a re-sent request is not a second retry.
    """

    EVENT_TYPE = "exception-retry-requested"
    DOMAIN = "ops"
    KEY_FIELD = "deal_id"
    TOPIC = "q2c.saga.inbox"

    deal_id: Id
    attempt: PositiveInt32
    requested_by: str
    reason: str


class ExceptionCancelRequested(Event):
    """Operator action: give up on a saga in its exception state (compensating as needed)."""

    EVENT_TYPE = "exception-cancel-requested"
    DOMAIN = "ops"
    KEY_FIELD = "deal_id"
    TOPIC = "q2c.saga.inbox"

    deal_id: Id
    requested_by: str
    reason: str


class LegalEntityUpserted(Event):
    """Master data: the latest version of a legal entity (compacted topic)."""

    EVENT_TYPE = "legal-entity-upserted"
    DOMAIN = "masterdata"
    KEY_FIELD = "legal_entity_id"
    TOPIC = "q2c.masterdata.legal-entities"

    legal_entity_id: Id
    name: str
    country: CountryCode
    currencies: tuple[CurrencyCode, ...]
    active: bool


class AccountMasterUpserted(Event):
    """Master data: the latest version of an account (compacted topic)."""

    EVENT_TYPE = "account-master-upserted"
    DOMAIN = "masterdata"
    KEY_FIELD = "account.account_id"
    TOPIC = "q2c.masterdata.accounts"

    account: Account
    tax_registration_valid: bool


class ContractAmended(Event):
    """A change order: CRM amended the won contract's total value (the project budget)."""

    EVENT_TYPE = "contract-amended"
    DOMAIN = "crm"
    KEY_FIELD = "deal_id"

    deal_id: Id
    project_id: Id
    amendment_id: Id
    total_value: PositiveMoney
    reason: str
