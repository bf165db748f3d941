"""Shared records of CONTRACTS.md: money, accounts, contracts, projects, time, invoices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from engine.contracts.base import Record
from engine.contracts.types import (
    AmountDecimal,
    CountryCode,
    CurrencyCode,
    HoursDecimal,
    Id,
    PositiveInt32,
    QuantityDecimal,
    UtcTimestamp,
)


class Money(Record):
    """An amount in one currency; `amount` is a Decimal with at most 4 decimal places."""

    amount: AmountDecimal
    currency: CurrencyCode


def _positive(money: Money) -> Money:
    if money.amount <= 0:
        raise ValueError("amount must be positive")
    return money


PositiveMoney = Annotated[Money, AfterValidator(_positive)]


class BillingModel(StrEnum):
    MILESTONE = "MILESTONE"
    TIME_AND_MATERIALS = "TIME_AND_MATERIALS"


class Account(Record):
    """A customer account; `parent_account_id` links it into the customer hierarchy."""

    account_id: Id
    name: str
    parent_account_id: Id | None = None
    legal_entity: Id | None = None
    country: CountryCode
    currency: CurrencyCode
    tax_registration: str | None = None


class Milestone(Record):
    milestone_id: Id
    name: str
    amount: PositiveMoney
    due_date: date


class Rate(Record):
    role: str
    hourly_rate: PositiveMoney


class RateCard(Record):
    rate_card_id: Id
    currency: CurrencyCode
    rates: tuple[Rate, ...]

    @model_validator(mode="after")
    def _rates_in_card_currency(self) -> RateCard:
        if any(rate.hourly_rate.currency != self.currency for rate in self.rates):
            raise ValueError("every hourly_rate must be in the rate card's currency")
        return self


class Contract(Record):
    """The commercial terms of a deal; cross-field rules per billing model are checked here."""

    contract_id: Id
    billing_model: BillingModel
    currency: CurrencyCode
    total_value: PositiveMoney
    payment_terms_days: Annotated[int, Field(gt=0, le=3650)]
    start_date: date
    end_date: date
    milestones: tuple[Milestone, ...]
    rate_card: RateCard | None = None
    billing_period_days: PositiveInt32 = 30

    @model_validator(mode="after")
    def _consistent_terms(self) -> Contract:
        # Messages name fields but never amounts: they end up in logs and DLQ reasons.
        if self.start_date > self.end_date:
            raise ValueError("start_date must not be after end_date")
        if self.total_value.currency != self.currency:
            raise ValueError("total_value must be in the contract currency")
        if self.billing_model is BillingModel.MILESTONE:
            if not self.milestones:
                raise ValueError("a MILESTONE contract needs at least one milestone")
            if any(m.amount.currency != self.currency for m in self.milestones):
                raise ValueError("every milestone amount must be in the contract currency")
            if sum(m.amount.amount for m in self.milestones) != self.total_value.amount:
                raise ValueError("milestone amounts must sum to total_value")
        if self.billing_model is BillingModel.TIME_AND_MATERIALS:
            if self.rate_card is None:
                raise ValueError("a TIME_AND_MATERIALS contract needs a rate_card")
            if self.rate_card.currency != self.currency:
                raise ValueError("rate_card must be in the contract currency")
        return self


class Project(Record):
    project_id: Id
    deal_id: Id
    name: str
    status: str


class Resource(Record):
    resource_id: Id
    name: str
    role: str
    cost_rate: PositiveMoney | None = None  # confidential: sealed on the wire


class TimeEntry(Record):
    entry_id: Id
    resource: Resource
    work_date: date
    hours: Annotated[HoursDecimal, Field(gt=0, le=24)]
    description: str


class Expense(Record):
    expense_id: Id
    resource_id: Id
    expense_date: date
    category: str
    amount: PositiveMoney


def check_lines_total(lines: tuple[InvoiceLine, ...], total: Money) -> None:
    if any(line.amount.currency != total.currency for line in lines):
        raise ValueError("every line amount must be in the total's currency")
    if sum((line.amount.amount for line in lines), Decimal(0)) != total.amount:
        raise ValueError("line amounts must sum to total")


class InvoiceLine(Record):
    description: str
    quantity: QuantityDecimal
    unit_price: Money
    amount: Money

    @model_validator(mode="after")
    def _one_currency(self) -> InvoiceLine:
        if self.unit_price.currency != self.amount.currency:
            raise ValueError("unit_price and amount must share a currency")
        return self


class Invoice(Record):
    invoice_id: Id
    invoice_reference: Id
    project_id: Id
    lines: Annotated[tuple[InvoiceLine, ...], Field(min_length=1)]
    total: Money
    due_date: date

    @model_validator(mode="after")
    def _total_matches_lines(self) -> Invoice:
        check_lines_total(self.lines, self.total)
        return self


class Payment(Record):
    payment_id: Id
    invoice_id: Id
    amount: PositiveMoney
    received_at: UtcTimestamp
    payer_account: str | None = None  # tokenized: joinable, never in clear on a topic
