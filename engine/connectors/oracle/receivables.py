"""Oracle Fusion receivables as canonical events (pure): what the poller publishes.

Oracle raises no business event for receivables invoices or receipts (platforms.md §5), so
`ReceivablesPoller` reads them by last-update date and this module turns each item into
canonical events:

- a `receivablesInvoices` item with `InvoiceStatus = Complete` -> invoice-issued (an
  incomplete invoice is not issued yet; completing it moves its `LastUpdateDate`, so a later
  poll sees it);
- a `standardReceipts` item -> one payment-received per remittance reference (the invoice's
  `TransactionNumber` it pays), with the invoice id resolved by the caller.

Event ids derive from Oracle's own record ids, so polling the same record again (a restart
before the watermark was saved, an update of an issued invoice) yields the same event and the
sagas drop it. The Oracle connector's reply to issue-invoice uses the same id
(`invoice_event_id`), so an invoice q2c issued and then polled is one event, not two.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from engine.contracts import (
    Envelope,
    Invoice,
    InvoiceIssued,
    InvoiceLine,
    Money,
    Payment,
    PaymentReceived,
)

PLATFORM = "oracle"
INVOICES = "receivablesInvoices"
RECEIPTS = "standardReceipts"
POLL_NAMESPACE = uuid.UUID("5b0e7f4c-3a51-4c1e-8d7a-9f2b6c4e1a03")
# The invoice header's descriptive flexfield segment that carries q2c's project id (set by the
# Oracle connector on the invoices it creates; a firm maps its own segment in the field file).
DEFAULT_PROJECT_SEGMENT = "q2cProjectId"
_NET_DAYS = re.compile(r"(\d+)")


class NotAnEvent(ValueError):
    """An Oracle item that cannot become a canonical event; names the field at fault."""

    message_is_safe = True

    def __init__(self, number: str, field_path: str, reason: str) -> None:
        super().__init__(f"oracle {number}: {field_path}: {reason}")
        self.field_path = field_path


def record_number(resource: str, item: dict[str, Any]) -> str:
    """How a dead letter names an item: its number, else its id, else `?`."""
    if resource == INVOICES:
        names = ("TransactionNumber", "CustomerTransactionId")
    else:
        names = ("ReceiptNumber", "StandardReceiptId")
    return str(next((item[n] for n in names if item.get(n)), "?"))


def invoice_event_id(customer_transaction_id: str) -> str:
    """The event id of the invoice-issued for one Oracle invoice (poller and connector)."""
    return str(uuid.uuid5(POLL_NAMESPACE, f"{PLATFORM}:{INVOICES}:{customer_transaction_id}"))


def payment_event_id(receipt_id: str, reference: str) -> str:
    """The event id of the payment-received for one remittance reference of one receipt."""
    return str(uuid.uuid5(POLL_NAMESPACE, f"{PLATFORM}:{RECEIPTS}:{receipt_id}:{reference}"))


def parse_oracle_time(value: str) -> datetime:
    """An Oracle REST timestamp (ISO 8601 with offset) as an aware UTC datetime."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("timestamp has no offset")
    return parsed.astimezone(UTC)


def _text(item: dict[str, Any], name: str, number: str) -> str:
    value = item.get(name)
    if value is None or str(value) == "":
        raise NotAnEvent(number, name, "missing")
    return str(value)


def _decimal(value: Any, number: str, path: str) -> Decimal:
    if isinstance(value, float):
        raise NotAnEvent(number, path, "a float; amounts must be strings or integers")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise NotAnEvent(number, path, "not a number") from None


def due_date(item: dict[str, Any], number: str) -> date:
    """`DueDate` when Oracle gives it, else `TransactionDate` plus the `NET <n>` terms."""
    if item.get("DueDate"):
        return date.fromisoformat(str(item["DueDate"]))
    issued = date.fromisoformat(_text(item, "TransactionDate", number))
    terms = _NET_DAYS.search(str(item.get("PaymentTerms") or ""))
    if terms is None:
        raise NotAnEvent(number, "PaymentTerms", "no DueDate and no NET <days> terms")
    return issued + timedelta(days=int(terms[1]))


def invoice_issued_from(
    item: dict[str, Any], *, project_segment: str = DEFAULT_PROJECT_SEGMENT
) -> InvoiceIssued | None:
    """The invoice-issued of a completed invoice, None while it is incomplete."""
    number = record_number(INVOICES, item)
    if item.get("InvoiceStatus") != "Complete":
        return None
    invoice_id = _text(item, "CustomerTransactionId", number)
    currency = _text(item, "InvoiceCurrencyCode", number)
    dff = item.get("receivablesInvoiceDFF") or [{}]
    project_id = (dff[0] if isinstance(dff, list) and dff else {}).get(project_segment)
    if not project_id:
        raise NotAnEvent(number, f"receivablesInvoiceDFF.0.{project_segment}", "missing")
    lines = []
    for n, line in enumerate(item.get("receivablesInvoiceLines") or []):
        path = f"receivablesInvoiceLines.{n}"
        quantity = _decimal(line.get("Quantity"), number, f"{path}.Quantity")
        price = _decimal(line.get("UnitSellingPrice"), number, f"{path}.UnitSellingPrice")
        amount = line.get("LineAmount")
        total = (
            quantity * price if amount is None else _decimal(amount, number, f"{path}.LineAmount")
        )
        lines.append((line.get("Description") or "", quantity, price, total))
    if not lines:
        raise NotAnEvent(number, "receivablesInvoiceLines", "no lines")
    try:
        invoice = Invoice(
            invoice_id=invoice_id,
            invoice_reference=_text(item, "TransactionNumber", number),
            project_id=str(project_id),
            lines=tuple(
                InvoiceLine(
                    description=description,
                    quantity=quantity,
                    unit_price=Money(amount=price, currency=currency),
                    amount=Money(amount=total, currency=currency),
                )
                for description, quantity, price, total in lines
            ),
            total=Money(amount=sum((t for *_, t in lines), Decimal(0)), currency=currency),
            due_date=due_date(item, number),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise NotAnEvent(number, ".".join(map(str, first["loc"])), first["msg"]) from None
    return InvoiceIssued(
        envelope=_envelope(
            invoice_event_id(invoice_id),
            "invoice-issued",
            item,
            number,
            {"invoice_id": invoice_id, "project_id": str(project_id)},
        ),
        invoice=invoice,
    )


def payments_from(item: dict[str, Any], invoice_ids: dict[str, str]) -> list[PaymentReceived]:
    """The payment-received of each remittance reference of a receipt.

    `invoice_ids` maps the invoices' `TransactionNumber` to their `CustomerTransactionId`; a
    reference to an invoice not in it is an error naming that reference.
    """
    number = record_number(RECEIPTS, item)
    receipt_id = _text(item, "StandardReceiptId", number)
    currency = _text(item, "Currency", number)
    received_at = datetime.combine(
        date.fromisoformat(_text(item, "ReceiptDate", number)), datetime.min.time(), UTC
    )
    references = item.get("remittanceReferences") or []
    if not references:
        raise NotAnEvent(number, "remittanceReferences", "not applied to an invoice")
    events = []
    for n, ref in enumerate(references):
        path = f"remittanceReferences.{n}"
        reference = str(ref.get("ReferenceNumber") or "")
        invoice_id = invoice_ids.get(reference)
        if invoice_id is None:
            raise NotAnEvent(number, f"{path}.ReferenceNumber", "no such invoice")
        amount = _decimal(ref.get("ReferenceAmount"), number, f"{path}.ReferenceAmount")
        try:
            payment = Payment(
                payment_id=f"{number}/{reference}",
                invoice_id=invoice_id,
                amount=Money(amount=amount, currency=currency),
                received_at=received_at,
            )
        except ValidationError as exc:
            raise NotAnEvent(number, f"{path}.ReferenceAmount", exc.errors()[0]["msg"]) from None
        envelope = _envelope(
            payment_event_id(receipt_id, reference),
            "payment-received",
            item,
            number,
            {"invoice_id": invoice_id, "receipt_id": receipt_id},
        )
        events.append(PaymentReceived(envelope=envelope, payment=payment))
    return events


def _envelope(
    event_id: str, event_type: str, item: dict[str, Any], number: str, ids: dict[str, str]
) -> Envelope:
    try:
        occurred = parse_oracle_time(_text(item, "LastUpdateDate", number))
    except ValueError:
        raise NotAnEvent(number, "LastUpdateDate", "not an ISO 8601 timestamp") from None
    return Envelope(
        event_id=event_id,
        event_type=event_type,
        occurred_at=occurred,
        source_system=PLATFORM,
        correlation_id=None,  # Oracle knows no deal: the saga resolves the invoice id
        causation_id=None,
        schema_version=1,
        source_ids=ids,
    )


@dataclass(frozen=True)
class Watermark:
    """How far one resource was read: its newest `LastUpdateDate` and the ids seen at it.

    The next poll asks for `LastUpdateDate >= since` (not `>`: several records can share a
    timestamp, and one written in the same millisecond after the last poll must not be
    missed) and skips the ids already seen at exactly `since`.
    """

    since: datetime | None = None
    seen: frozenset[str] = field(default_factory=frozenset)

    def is_new(self, record_id: str, updated: datetime) -> bool:
        if self.since is None or updated > self.since:
            return True
        return updated == self.since and record_id not in self.seen

    def after(self, record_id: str, updated: datetime) -> Watermark:
        """The watermark once the record (`record_id`, `updated`) is handled."""
        if self.since is None or updated > self.since:
            return Watermark(updated, frozenset({record_id}))
        if updated == self.since:
            return Watermark(self.since, self.seen | {record_id})
        return self

    def to_json(self) -> dict[str, Any]:
        return {
            "since": None if self.since is None else self.since.isoformat(),
            "seen": sorted(self.seen),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Watermark:
        since = data.get("since")
        return cls(
            None if since is None else parse_oracle_time(since), frozenset(data.get("seen", ()))
        )
