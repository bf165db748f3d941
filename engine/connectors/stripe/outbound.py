"""Stripe Billing outbound: issue-invoice, create-billing-schedule, send-dunning, cancel,
update-billing-schedule.

Idempotency is Stripe's own `Idempotency-Key` header, derived from the command's idempotency
key plus the step (`…/invoice`, `…/item/2`, `…/finalize`), so a command handled twice replays
Stripe's saved responses instead of creating a second invoice, and a crash between steps
resumes with the same invoice. Stripe refuses a reused key with other parameters (400
`idempotency_error`): that is a permanent error, never a retry. Requests are form-encoded
as Stripe's API expects.

update-billing-schedule records the amended contract total on the deal's subscriptions (found
by metadata search, `q2c_deal_id`) with a subscription update (`POST /v1/subscriptions/<id>`,
`proration_behavior=none`: the amendment re-budgets, it bills nothing by itself), one
`Idempotency-Key` per subscription derived from the command's key, so a redelivery or retry
replays Stripe's saved response. q2c's own milestone schedule is invoices, not a subscription:
a deal without subscriptions has nothing to update.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from engine.adapters.errors import PermanentError
from engine.connectors.outbound.connector import HttpConnector
from engine.connectors.outbound.fields import RecordSpec
from engine.connectors.outbound.replies import billing_schedule_created, invoice_issued
from engine.contracts import (
    CancelBillingSchedule,
    Command,
    CreateBillingSchedule,
    Event,
    IssueInvoice,
    Money,
    SendDunning,
)
from engine.contracts.commands import UpdateBillingSchedule
from engine.contracts.currencies import minor_unit_exponent

PLATFORM = "stripe"
MAX_KEY = 255


def idempotency_key(command_key: str, step: str) -> str:
    """Stripe's key for one step of a command: readable when short, hashed beyond 255 chars."""
    key = f"q2c/{command_key}/{step}"
    if len(key) <= MAX_KEY:
        return key
    return f"q2c/{hashlib.sha256(command_key.encode()).hexdigest()}/{step}"


def minor_units(money: Money, what: str) -> int:
    """The integer amount Stripe expects; an amount finer than the currency allows is refused."""
    digits = minor_unit_exponent(money.currency)
    scaled = money.amount * (Decimal(10) ** digits)
    if scaled != scaled.to_integral_value():
        raise PermanentError(f"{what} has more decimals than {money.currency} allows")
    return int(scaled)


def search_literal(value: str) -> str:
    """`value` quoted for Stripe's search query language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class StripeConnector(HttpConnector):
    """Commands of the billing target against Stripe's API (or stripe-mock)."""

    platform = PLATFORM
    commands = frozenset(
        {
            "issue-invoice",
            "create-billing-schedule",
            "send-dunning",
            "cancel-billing-schedule",
            "update-billing-schedule",
        }
    )

    required_records = ("customer", "invoice", "subscription")

    @property
    def _customer(self) -> RecordSpec:
        return self.fields.record("customer")

    @property
    def _invoice(self) -> RecordSpec:
        return self.fields.record("invoice")

    @property
    def _subscription(self) -> RecordSpec:
        return self.fields.record("subscription")

    async def handle(self, command: Command) -> Sequence[Event]:
        if isinstance(command, IssueInvoice):
            return [await self.issue_invoice(command)]
        if isinstance(command, CreateBillingSchedule):
            customer = await self.customer_for(command.deal_id, command.header.idempotency_key)
            return [billing_schedule_created(command, PLATFORM, customer, self.clock())]
        if isinstance(command, SendDunning):
            await self._post(
                f"/v1/invoices/{command.invoice_id}/send",
                {},
                command.header.idempotency_key,
                "send",
            )
            return []
        if isinstance(command, CancelBillingSchedule):
            await self.void_open_invoices(command)
            return []
        if isinstance(command, UpdateBillingSchedule):
            await self.update_billing_schedule(command)
            return []
        raise self.unsupported(command)

    async def _post(
        self, path: str, data: Mapping[str, Any], command_key: str, step: str
    ) -> dict[str, Any]:
        # Stripe wants the form content type even on an empty body (finalize, send, void).
        reply = await self.http.request(
            "POST",
            path,
            content=urlencode(dict(data)).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Idempotency-Key": idempotency_key(command_key, step),
            },
        )
        body: dict[str, Any] = reply.json()
        return body

    async def customer_for(self, deal_id: str, command_key: str) -> str:
        """The Stripe customer of a deal: found by metadata, else created (keyed by the deal)."""
        field = self._customer.external_id or "q2c_deal_id"
        matches = await self._search(self._customer.name, field, deal_id)
        if matches:
            return str(matches[0]["id"])
        # The key is the deal's, not the command's: two commands of one deal racing past the
        # search still create one customer.
        created = await self._post(
            "/v1/customers", {f"metadata[{field}]": deal_id}, f"customer/{deal_id}", "create"
        )
        return str(created["id"])

    async def _search(self, resource: str, field: str, value: str) -> list[dict[str, Any]]:
        """Stripe search on one metadata field (eventually consistent: Stripe documents new data
        as searchable in under a minute, so search is not a read-after-write check)."""
        found = await self.http.request(
            "GET",
            f"/v1/{resource}/search",
            params={"query": f"metadata[{search_literal(field)}]:{search_literal(value)}"},
        )
        data: list[dict[str, Any]] = found.json().get("data") or []
        return data

    async def update_billing_schedule(self, command: UpdateBillingSchedule) -> list[str]:
        """The amended total on each of the deal's subscriptions; returns their ids."""
        spec = self._subscription
        subscriptions = await self._search(
            spec.name, spec.external_id or "q2c_deal_id", command.deal_id
        )
        total = command.total_value
        updated = []
        for subscription in subscriptions:
            sid = str(subscription["id"])
            await self._post(
                f"/v1/{spec.name}/{sid}",
                {
                    **spec.defaults,
                    "metadata[q2c_amendment_id]": command.amendment_id,
                    "metadata[q2c_total_value]": format(total.amount, "f"),
                    "metadata[q2c_total_currency]": total.currency,
                },
                command.header.idempotency_key,
                f"subscription/{sid}",
            )
            updated.append(sid)
        return updated

    async def issue_invoice(self, command: IssueInvoice) -> Event:
        """Draft invoice, one invoice item per line, finalize; reply invoice-issued."""
        key = command.header.idempotency_key
        customer = await self.customer_for(command.deal_id, key)
        currency = command.total.currency.lower()
        invoice_data: dict[str, Any] = {
            **{k: v for k, v in self._invoice.defaults.items()},
            "customer": customer,
            "currency": currency,
            "auto_advance": "false",
            "pending_invoice_items_behavior": "exclude",
            "metadata[q2c_deal_id]": command.deal_id,
            "metadata[q2c_project_id]": command.project_id,
            f"metadata[{self._invoice.external_id or 'q2c_invoice_reference'}]": (
                command.invoice_reference
            ),
        }
        if invoice_data.get("collection_method") == "send_invoice":
            invoice_data["days_until_due"] = command.payment_terms_days
        invoice = await self._post("/v1/invoices", invoice_data, key, "invoice")
        invoice_id = str(invoice["id"])
        for number, line in enumerate(command.lines, start=1):
            await self._post(
                "/v1/invoiceitems",
                {
                    "customer": customer,
                    "invoice": invoice_id,
                    "currency": currency,
                    "amount": minor_units(line.amount, f"line {number}"),
                    "description": line.description,
                },
                key,
                f"item/{number}",
            )
        final = await self._post(f"/v1/invoices/{invoice_id}/finalize", {}, key, "finalize")
        return invoice_issued(
            command, PLATFORM, invoice_id, self._due_date(final, command), self.clock()
        )

    @staticmethod
    def _due_date(invoice: Mapping[str, Any], command: IssueInvoice) -> date:
        due = invoice.get("due_date")
        if isinstance(due, int) and due > 0:
            return datetime.fromtimestamp(due, UTC).date()
        issued = command.header.issued_at.date()
        return issued + timedelta(days=command.payment_terms_days)

    async def void_open_invoices(self, command: CancelBillingSchedule) -> int:
        """Void the project's invoices still open (paid ones stand); returns how many."""
        customer = await self.customer_for(command.deal_id, command.header.idempotency_key)
        listed = await self.http.request(
            "GET", "/v1/invoices", params={"customer": customer, "status": "open", "limit": 100}
        )
        voided = 0
        for invoice in listed.json().get("data") or []:
            if (invoice.get("metadata") or {}).get("q2c_project_id") != command.project_id:
                continue
            await self._post(
                f"/v1/invoices/{invoice['id']}/void",
                {},
                command.header.idempotency_key,
                f"void/{invoice['id']}",
            )
            voided += 1
        return voided
