"""The Stripe connector against Stripe's official stripe-mock: requests validate against Stripe's spec.

stripe-mock is stateless (fixture responses, no idempotency replay), so these tests prove the
calls, parameters and headers are what Stripe's API accepts; idempotency replay itself is
Stripe's documented behaviour and is covered by the error classification tests.
"""

from __future__ import annotations

import pytest

from engine.adapters.errors import PermanentError
from engine.connectors.outbound.errors import PlatformError, Rejected
from engine.connectors.stripe.outbound import StripeConnector, idempotency_key
from engine.contracts import BillingScheduleCreated, InvoiceIssued
from tests.command_builders import command
from tests.connectors.conftest import stripe_config
from tests.connectors.samples import issue_invoice, update_billing_schedule
from tests.connectors.transports import Recording
from tests.unit.sagas_fixtures import milestone_contract, money

pytestmark = pytest.mark.stripe_mock


async def test_issue_invoice_replies_with_stripes_invoice_id(stripe_mock_url: str) -> None:
    command = issue_invoice("D-1", "invoice-1", "1000", "250.50")
    async with _connector(stripe_mock_url) as stripe:
        (reply,) = await stripe.handle(command)
        sent = stripe.http.requests
    assert isinstance(reply, InvoiceIssued)
    assert reply.invoice.invoice_id.startswith("in_")
    assert reply.invoice.invoice_reference == command.invoice_reference
    assert reply.envelope.correlation_id == "D-1"
    # customer search, invoice, two items, finalize: every one accepted by Stripe's spec
    assert sent == 5


async def test_the_same_command_twice_gives_the_same_reply_event(stripe_mock_url: str) -> None:
    command = issue_invoice()
    async with _connector(stripe_mock_url) as stripe:
        (first,) = await stripe.handle(command)
        (second,) = await stripe.handle(command)
    assert first.envelope.event_id == second.envelope.event_id


async def test_a_parameter_stripe_refuses_is_a_permanent_error(stripe_mock_url: str) -> None:
    async with _connector(stripe_mock_url) as stripe:
        with pytest.raises(Rejected) as caught:
            await stripe.http.request("POST", "/v1/invoices", data={"no_such_param": "x"})
    assert isinstance(caught.value, PermanentError)
    assert (caught.value.status, caught.value.code) == (400, "invalid_request_error")


def test_idempotency_keys_are_per_step_and_within_stripes_limit() -> None:
    assert idempotency_key("D-1:invoice-1", "item/1") != idempotency_key("D-1:invoice-1", "item/2")
    long_key = idempotency_key("x" * 400, "finalize")
    assert len(long_key) <= 255
    assert long_key == idempotency_key("x" * 400, "finalize")


def _connector(url: str) -> StripeConnector:
    return StripeConnector(stripe_config(url))


async def test_schedule_dunning_and_cancel_calls_are_accepted_by_stripes_spec(
    stripe_mock_url: str,
) -> None:
    schedule = command(
        "create-billing-schedule", "D-1", "schedule", project_id="P-1", deal_id="D-1",
        contract=milestone_contract(),
    )  # fmt: skip
    dunning = command(
        "send-dunning", "D-1", "dunning-1", deal_id="D-1", invoice_id="in_123",
        amount_due=money("100"), days_overdue=5,
    )  # fmt: skip
    cancel = command(
        "cancel-billing-schedule", "D-1", "cancel", project_id="P-1", deal_id="D-1", reason="lost"
    )
    async with _connector(stripe_mock_url) as stripe:
        (created,) = await stripe.handle(schedule)
        assert await stripe.handle(dunning) == []
        assert await stripe.handle(cancel) == []
    assert isinstance(created, BillingScheduleCreated)
    assert created.schedule_id.startswith("cus_")


async def test_update_billing_schedule_resends_one_key_per_subscription(
    stripe_mock_url: str,
) -> None:
    amended, later = (
        update_billing_schedule("D-1", "A-1"),
        update_billing_schedule("D-1", "A-2", "15000"),
    )
    recording = Recording()
    async with StripeConnector(stripe_config(stripe_mock_url), transport=recording) as stripe:
        for command in (amended, amended, later):  # the first one redelivered
            assert await stripe.handle(command) == []
    searches = [r for r, _ in recording.sent if r.url.path == "/v1/subscriptions/search"]
    assert [s.url.params["query"] for s in searches] == ["metadata['q2c_deal_id']:'D-1'"] * 3
    first, again, other = recording.posts("/v1/subscriptions/")
    path, key, form, status = first
    assert status == 200  # stripe-mock validated the update against Stripe's spec
    assert path.startswith("/v1/subscriptions/sub_")
    assert key == idempotency_key(
        amended.header.idempotency_key, "subscription/" + path.rsplit("/", 1)[-1]
    )
    assert form == {
        "proration_behavior": ["none"],
        "metadata[q2c_amendment_id]": ["A-1"],
        "metadata[q2c_total_value]": ["12500.0000"],
        "metadata[q2c_total_currency]": ["EUR"],
    }
    # The redelivery repeats key and parameters, so Stripe replays instead of updating again.
    assert again == first
    assert other[1] != key and other[2]["metadata[q2c_total_value]"] == ["15000.0000"]


async def test_a_lost_subscription_update_reply_is_retried_with_the_same_key(
    stripe_mock_url: str,
) -> None:
    amended = update_billing_schedule("D-1", "A-1")
    recording = Recording(lose=("POST", "/v1/subscriptions/sub_"))
    async with StripeConnector(stripe_config(stripe_mock_url), transport=recording) as stripe:
        with pytest.raises(PlatformError, match="timed out"):
            await stripe.handle(amended)
        await stripe.handle(amended)  # what the runner's retry does
    lost, retried = recording.posts("/v1/subscriptions/")
    assert retried == lost  # same key, same parameters: Stripe answers with the saved reply
