"""Command models: one class per command type of CONTRACTS.md; key = `header.saga_key`."""

from __future__ import annotations

from typing import ClassVar

from pydantic import model_validator

from engine.contracts.base import Record
from engine.contracts.envelope import CommandHeader
from engine.contracts.shared import (
    Account,
    Contract,
    InvoiceLine,
    Money,
    PositiveMoney,
    check_lines_total,
)
from engine.contracts.types import CurrencyCode, Id, NonNegativeInt32, PositiveInt32


class Command(Record):
    """Base of every command: the header comes first and must match the class's type/target."""

    COMMAND_TYPE: ClassVar[str]
    TARGET: ClassVar[str]
    # Sets an absolute value (a status, a budget, a total): the saga sends these newest last,
    # so a later command of the same type and key makes an earlier one stale, and replaying the
    # earlier one from the dead-letter topic would write its older value back.
    SUPERSEDED_BY_LATER: ClassVar[bool] = False

    header: CommandHeader

    @model_validator(mode="after")
    def _header_matches_type(self) -> Command:
        if self.header.command_type != self.COMMAND_TYPE:
            raise ValueError(f"header.command_type must be {self.COMMAND_TYPE!r}")
        if self.header.target_system != self.TARGET:
            raise ValueError(f"header.target_system must be {self.TARGET!r}")
        return self


class ValidateAccount(Command):
    COMMAND_TYPE = "validate-account"
    TARGET = "masterdata"

    deal_id: Id
    account: Account
    contract_currency: CurrencyCode


class CreateProject(Command):
    COMMAND_TYPE = "create-project"
    TARGET = "erp"

    deal_id: Id
    account: Account
    contract: Contract


class CreateBillingSchedule(Command):
    COMMAND_TYPE = "create-billing-schedule"
    TARGET = "billing"

    project_id: Id
    deal_id: Id
    contract: Contract


class IssueInvoice(Command):
    COMMAND_TYPE = "issue-invoice"
    TARGET = "billing"

    project_id: Id
    deal_id: Id
    invoice_reference: Id
    lines: tuple[InvoiceLine, ...]
    total: Money
    payment_terms_days: PositiveInt32

    @model_validator(mode="after")
    def _total_matches_lines(self) -> IssueInvoice:
        if not self.lines:
            raise ValueError("an invoice needs at least one line")
        check_lines_total(self.lines, self.total)
        return self


class UpdateCrmStatus(Command):
    COMMAND_TYPE = "update-crm-status"
    TARGET = "crm"
    SUPERSEDED_BY_LATER = True

    deal_id: Id
    status: str
    detail: str


class RecognizeRevenue(Command):
    COMMAND_TYPE = "recognize-revenue"
    TARGET = "erp"

    project_id: Id
    deal_id: Id
    milestone_id: Id | None = None
    invoice_reference: Id
    amount: Money


class CloseProject(Command):
    COMMAND_TYPE = "close-project"
    TARGET = "erp"

    project_id: Id
    deal_id: Id
    reason: str


class CancelBillingSchedule(Command):
    COMMAND_TYPE = "cancel-billing-schedule"
    TARGET = "billing"

    project_id: Id
    deal_id: Id
    reason: str


class Escalate(Command):
    COMMAND_TYPE = "escalate"
    TARGET = "crm"

    deal_id: Id
    kind: str
    detail: str


class SendDunning(Command):
    COMMAND_TYPE = "send-dunning"
    TARGET = "billing"

    deal_id: Id
    invoice_id: Id
    amount_due: PositiveMoney
    days_overdue: NonNegativeInt32


class UpdateProjectBudget(Command):
    COMMAND_TYPE = "update-project-budget"
    TARGET = "erp"
    SUPERSEDED_BY_LATER = True

    project_id: Id
    deal_id: Id
    amendment_id: Id
    budget: PositiveMoney


class UpdateBillingSchedule(Command):
    COMMAND_TYPE = "update-billing-schedule"
    TARGET = "billing"
    SUPERSEDED_BY_LATER = True

    project_id: Id
    deal_id: Id
    amendment_id: Id
    total_value: PositiveMoney
