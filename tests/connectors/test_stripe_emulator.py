"""The Stripe connector against the Stripe emulator the demo runs: one invoice per command
however often it is handled (Idempotency-Key replay), an id per invoice, a reused key with
other parameters refused; in front of stripe-mock, Stripe's spec still judges every request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.connectors.outbound.errors import Rejected
from engine.connectors.stripe.outbound import StripeConnector
from engine.contracts import InvoiceIssued
from engine.emulators.stripe import StripeEmulator
from tests.connectors.conftest import stripe_config
from tests.connectors.samples import issue_invoice, update_billing_schedule


@pytest.fixture
def stripe() -> Iterator[StripeEmulator]:
    emulator = StripeEmulator()
    with emulator.running():
        yield emulator


async def test_each_invoice_is_created_once_with_its_own_id(stripe: StripeEmulator) -> None:
    first, second = issue_invoice("D-1", "invoice-1", "100"), issue_invoice("D-1", "invoice-2", "5")
    async with StripeConnector(stripe_config(stripe.base_url)) as connector:
        (one,) = await connector.handle(first)
        (again,) = await connector.handle(first)  # a redelivered command
        (two,) = await connector.handle(second)
    assert isinstance(one, InvoiceIssued) and isinstance(two, InvoiceIssued)
    assert isinstance(again, InvoiceIssued)
    assert (one.envelope.event_id, one.invoice) == (again.envelope.event_id, again.invoice)
    assert one.invoice.invoice_id != two.invoice.invoice_id
    assert stripe.effects.count("create", "invoice") == 2
    assert stripe.effects.count("create", "customer") == 1  # one per deal
    assert stripe.effects.count("action", "finalize") == 2
    assert stripe.replayed > 0
    invoice = stripe.store.of("invoice")[one.invoice.invoice_id]
    assert (invoice["status"], invoice["total"]) == ("open", 10000)
    assert invoice["metadata"]["q2c_deal_id"] == "D-1"


async def test_a_reused_key_with_other_parameters_is_refused(stripe: StripeEmulator) -> None:
    async with StripeConnector(stripe_config(stripe.base_url)) as connector:
        customer = await connector.customer_for("D-1", "k")
        headers = {"Idempotency-Key": "q2c/k/invoice"}
        form = {"customer": customer, "currency": "eur"}
        await connector.http.request("POST", "/v1/invoices", data=form, headers=headers)
        with pytest.raises(Rejected) as caught:
            await connector.http.request(
                "POST", "/v1/invoices", data={**form, "currency": "usd"}, headers=headers
            )
    assert (caught.value.status, caught.value.code) == (400, "idempotency_error")


@pytest.mark.stripe_mock
async def test_in_front_of_stripe_mock_stripes_spec_refuses_what_stripe_would(
    stripe_mock_url: str,
) -> None:
    with StripeEmulator(upstream=stripe_mock_url).running() as emulator:
        async with StripeConnector(stripe_config(emulator.base_url)) as connector:
            (reply,) = await connector.handle(issue_invoice("D-1", "invoice-1", "100"))
            with pytest.raises(Rejected) as caught:
                await connector.http.request("POST", "/v1/invoices", data={"no_such_param": "x"})
    assert isinstance(reply, InvoiceIssued) and reply.invoice.invoice_id.startswith("in_q2c")
    assert (caught.value.status, caught.value.code) == (400, "invalid_request_error")
    assert emulator.effects.count("create", "invoice") == 1


async def test_an_amendment_updates_each_subscription_of_the_deal_once(
    stripe: StripeEmulator,
) -> None:
    mine = stripe.subscribe({"q2c_deal_id": "D-1"})
    other = stripe.subscribe({"q2c_deal_id": "D-2"})
    amended = update_billing_schedule("D-1", "A-2", "14000")
    async with StripeConnector(stripe_config(stripe.base_url)) as connector:
        assert await connector.handle(amended) == []
        await connector.handle(amended)  # redelivered: Stripe replays the saved response
        await connector.handle(update_billing_schedule("D-3", "A-1", "10"))  # no subscription
    subscriptions = stripe.store.of("subscription")
    assert subscriptions[mine]["metadata"] == {
        "q2c_deal_id": "D-1",
        "q2c_amendment_id": "A-2",
        "q2c_total_value": "14000.0000",
        "q2c_total_currency": "EUR",
    }
    assert subscriptions[other]["metadata"] == {"q2c_deal_id": "D-2"}
    assert stripe.effects.count("update", "subscription") == 1
