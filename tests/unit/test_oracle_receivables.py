"""Oracle receivables items -> canonical events, and the poll watermark (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.connectors.oracle.receivables import (
    NotAnEvent,
    Watermark,
    invoice_event_id,
    invoice_issued_from,
    payments_from,
)

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def invoice(**changes: Any) -> dict[str, Any]:
    item = {
        "CustomerTransactionId": "300100",
        "TransactionNumber": "INV-7",
        "InvoiceStatus": "Complete",
        "InvoiceCurrencyCode": "EUR",
        "TransactionDate": "2026-03-01",
        "PaymentTerms": "NET 30",
        "LastUpdateDate": "2026-03-01T09:30:00.000+00:00",
        "receivablesInvoiceLines": [
            {"Description": "Milestone 1", "Quantity": "1", "UnitSellingPrice": "1000.10"},
            {"Description": "Travel", "Quantity": "3", "UnitSellingPrice": "0.30"},
        ],
        "receivablesInvoiceDFF": [{"q2cProjectId": "P-1"}],
    }
    return {**item, **changes}


def test_completed_invoice_is_issued_with_exact_money_and_a_stable_id() -> None:
    issued = invoice_issued_from(invoice())
    assert issued is not None
    assert issued.invoice.total.amount == Decimal("1001.00")
    assert issued.invoice.due_date.isoformat() == "2026-03-31"
    assert issued.envelope.event_id == invoice_event_id("300100")
    assert invoice_issued_from(invoice(PaymentTerms="NET 45")).envelope.event_id == (  # type: ignore[union-attr]
        issued.envelope.event_id
    )  # an update of an issued invoice is the same event


def test_incomplete_invoice_is_not_issued_yet() -> None:
    assert invoice_issued_from(invoice(InvoiceStatus="Incomplete")) is None


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"receivablesInvoiceDFF": []}, "receivablesInvoiceDFF.0.q2cProjectId"),
        ({"InvoiceCurrencyCode": None}, "InvoiceCurrencyCode"),
        ({"receivablesInvoiceLines": [{"Quantity": 1.5, "UnitSellingPrice": "2"}]},
         "receivablesInvoiceLines.0.Quantity"),
        ({"PaymentTerms": "IMMEDIATE"}, "PaymentTerms"),
    ],
)  # fmt: skip
def test_unusable_invoice_names_the_field(changes: dict[str, Any], path: str) -> None:
    with pytest.raises(NotAnEvent) as bad:
        invoice_issued_from(invoice(**changes))
    assert bad.value.field_path == path and "INV-7" in str(bad.value)


def test_receipt_pays_each_referenced_invoice() -> None:
    receipt = {
        "StandardReceiptId": "9001",
        "ReceiptNumber": "R-1",
        "Currency": "EUR",
        "ReceiptDate": "2026-04-02",
        "LastUpdateDate": "2026-04-02T10:00:00.000+00:00",
        "remittanceReferences": [
            {"ReferenceNumber": "INV-7", "ReferenceAmount": "1001.00"},
            {"ReferenceNumber": "INV-8", "ReferenceAmount": "20"},
        ],
    }
    paid = payments_from(receipt, {"INV-7": "300100", "INV-8": "300101"})
    assert [(p.payment.invoice_id, p.payment.amount.amount) for p in paid] == [
        ("300100", Decimal("1001.00")),
        ("300101", Decimal("20")),
    ]
    assert len({p.envelope.event_id for p in paid}) == 2
    with pytest.raises(NotAnEvent, match=r"remittanceReferences\.1\.ReferenceNumber"):
        payments_from(receipt, {"INV-7": "300100"})


def test_watermark_skips_what_was_seen_at_its_timestamp_only() -> None:
    mark = Watermark().after("A", T0).after("B", T0)
    assert not mark.is_new("A", T0) and not mark.is_new("B", T0)
    assert mark.is_new("C", T0)  # written in the same millisecond, after the last poll
    assert mark.is_new("A", T0 + timedelta(milliseconds=1))  # updated again
    assert not mark.is_new("Z", T0 - timedelta(seconds=1))
    assert Watermark.from_json(mark.to_json()) == mark
    later = mark.after("C", T0 + timedelta(seconds=1))
    assert later.since == T0 + timedelta(seconds=1) and later.seen == frozenset({"C"})
