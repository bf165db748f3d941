"""Stripe: the `invoice.paid` webhook event of a paid invoice (invoice.finalized is not sent:
the Stripe connector's reply to issue-invoice already told q2c)."""

from __future__ import annotations

from collections.abc import Callable

from engine.contracts import Event, Invoice, PaymentReceived
from engine.contracts.currencies import minor_unit_exponent
from engine.simulators.native.formats.base import NativePost, dumps, stable_id, unix_seconds
from engine.simulators.native.ids import IdMap

PLATFORM = "stripe"
API_VERSION = "2024-06-20"


class StripeFormat:
    platform = PLATFORM

    def __init__(self, ids: IdMap, invoice_of: Callable[[str], tuple[str, Invoice] | None]):
        """`invoice_of(simulated invoice id)`: the deal and invoice the simulation billed."""
        self.ids = ids
        self.invoice_of = invoice_of

    def encode(self, event: Event) -> NativePost | None:
        if not isinstance(event, PaymentReceived):
            return None
        payment = event.payment
        billed = self.invoice_of(payment.invoice_id)
        if billed is None:
            return None
        deal_id, invoice = billed
        invoice_id = self.ids.platform(payment.invoice_id)
        amount = int(payment.amount.amount * 10 ** minor_unit_exponent(payment.amount.currency))
        paid_at = unix_seconds(payment.received_at)
        doc = {
            "id": f"evt_q2c{stable_id(invoice_id, 'paid', length=20)}",
            "object": "event",
            "api_version": API_VERSION,
            "created": unix_seconds(event.envelope.occurred_at),
            "livemode": False,
            "pending_webhooks": 1,
            "type": "invoice.paid",
            "data": {
                "object": {
                    "id": invoice_id,
                    "object": "invoice",
                    "status": "paid",
                    "currency": payment.amount.currency.lower(),
                    "amount_due": amount,
                    "amount_paid": amount,
                    "amount_remaining": 0,
                    "total": amount,
                    "charge": f"ch_q2c{stable_id(payment.payment_id, length=20)}",
                    "metadata": {
                        "q2c_deal_id": deal_id,
                        "q2c_project_id": self.ids.platform(invoice.project_id),
                        "q2c_invoice_reference": invoice.invoice_reference,
                    },
                    "status_transitions": {"paid_at": paid_at},
                }
            },
        }
        return NativePost(PLATFORM, PLATFORM, dumps(doc))
