"""The simulated platforms' native deliveries translate back into the events they stand for:
encode -> the gateway's parse -> read-backs from the emulator -> the shipped mapping gives the
simulation's own canonical event (same business content; ids are the platform's)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from engine.connectors.dynamics.readback import DynamicsReader
from engine.connectors.protocol import NativeRequest, Unmapped
from engine.connectors.readback import Enricher
from engine.connectors.registry import load_mappings, native_events, translate_natives
from engine.connectors.salesforce.readback import SalesforceReader
from engine.connectors.settings import ConnectorSettings
from engine.contracts import (
    BillingModel,
    ClosedWon,
    Envelope,
    Event,
    Expense,
    ExpenseApproved,
    Invoice,
    InvoiceLine,
    MilestoneCompleted,
    Money,
    Payment,
    PaymentReceived,
    ProjectActivated,
    Resource,
    TimeEntry,
    TimeEntryApproved,
)
from engine.emulators.dynamics import DynamicsEmulator
from engine.emulators.salesforce import SalesforceEmulator
from engine.simulators import DealConfig, generate_deals
from engine.simulators.behaviour import EventStamper
from engine.simulators.native.formats import NativeFormat, NativePost, format_for
from engine.simulators.native.formats.dynamics import DynamicsFormat
from engine.simulators.native.formats.netsuite import NetSuiteFormat
from engine.simulators.native.formats.salesforce import SalesforceFormat
from engine.simulators.native.formats.stripe import StripeFormat
from engine.simulators.native.ids import IdMap
from tests.connectors.conftest import emulator_config

MAPPINGS = load_mappings(ConnectorSettings())
RECEIVED = datetime(2026, 3, 1, 12, tzinfo=UTC)
AT = datetime(2026, 2, 3, 18, tzinfo=UTC)
STAMP = EventStamper("sim", random.Random(1), correlate_fraction=1.0)


def _request(post: NativePost) -> NativeRequest:
    return NativeRequest(
        platform=post.platform,
        route=post.route,
        body=post.body,
        headers={**post.headers, "content-type": post.content_type},
        received_at=RECEIVED,
    )


async def _translated(post: NativePost, enricher: Enricher | None = None) -> list[Event]:
    natives = native_events(_request(post))
    assert not isinstance(natives, Unmapped), natives
    if enricher is not None:
        enriched = [await enricher.enrich(n, MAPPINGS[n.mapping_name]) for n in natives]
        assert not any(isinstance(e, Unmapped) for e in enriched), enriched
        natives = enriched  # type: ignore[assignment]
    events = translate_natives(natives, MAPPINGS, RECEIVED)
    assert not isinstance(events, Unmapped), events
    return events


def _envelope(event_type: str) -> Envelope:
    return STAMP.envelope(
        event_type, occurred_at=AT, identity=event_type, deal_id="D-1", source_ids={}
    )


@pytest.fixture
def org() -> Iterator[SalesforceEmulator]:
    emulator = SalesforceEmulator()
    with emulator.running():
        yield emulator


@pytest.mark.parametrize("model", list(BillingModel))
async def test_a_won_deal_from_salesforce_cdc_is_the_generated_closed_won(
    org: SalesforceEmulator, model: BillingModel
) -> None:
    book = generate_deals(8, seed=5, start=date(2026, 3, 2))
    deal = next(d for d in book.deals if d.billing_model is model).closed_won
    post = SalesforceFormat(org).encode(deal)
    assert post is not None and b"AccountId" not in post.body  # only the changed fields
    reader = SalesforceReader(emulator_config(org, "salesforce"))
    async with Enricher({"salesforce": reader}) as enricher:
        [won] = await _translated(post, enricher)
    assert isinstance(won, ClosedWon)
    assert won.deal_id == deal.deal_id
    assert won.account == deal.account
    assert won.contract == deal.contract
    assert won.activation_sla_hours == deal.activation_sla_hours
    assert won.envelope.occurred_at == deal.envelope.occurred_at


def _erp_events() -> list[Event]:
    """One of each event a simulated ERP/PSA tells of, for project PRJ-000001."""
    resource = Resource(resource_id="RES-1", name="Ada Lovelace", role="Senior Consultant")
    entry = TimeEntry(
        entry_id="TE-1", resource=resource, work_date=date(2026, 2, 2), hours=Decimal("7.5"),
        description="Workshop",
    )  # fmt: skip
    expense = Expense(
        expense_id="EX-1", resource_id="RES-1", expense_date=date(2026, 2, 5), category="Travel",
        amount=Money(amount=Decimal("412.37"), currency="EUR"),
    )  # fmt: skip
    return [
        ProjectActivated(
            envelope=_envelope("project-activated"), project_id="PRJ-000001", activated_at=AT
        ),
        TimeEntryApproved(
            envelope=_envelope("time-entry-approved"), project_id="PRJ-000001", entry=entry
        ),
        ExpenseApproved(
            envelope=_envelope("expense-approved"), project_id="PRJ-000001", expense=expense
        ),
        MilestoneCompleted(
            envelope=_envelope("milestone-completed"),
            project_id="PRJ-000001",
            milestone_id="M-1",
            completed_at=AT,
        ),
    ]


@pytest.mark.parametrize("model", list(BillingModel))
async def test_a_won_deal_from_a_dynamics_win_is_the_generated_closed_won(
    model: BillingModel,
) -> None:
    config = DealConfig(guid_ids=True)  # Dataverse row ids are GUIDs
    book = generate_deals(8, seed=5, start=date(2026, 3, 2), config=config)
    deal = next(d for d in book.deals if d.billing_model is model).closed_won
    with DynamicsEmulator().running() as crm:
        assert isinstance(crm, DynamicsEmulator)
        post = DynamicsFormat(crm).encode(deal)
        assert post is not None
        reader = DynamicsReader(emulator_config(crm, "dynamics"))
        async with Enricher({"dynamics": reader}) as enricher:
            [won] = await _translated(post, enricher)
    assert isinstance(won, ClosedWon)
    assert (won.deal_id, won.account) == (deal.deal_id, deal.account)
    # Dynamics' mapping names the contract by the opportunity: the rest is the deal's.
    assert won.contract.model_dump(exclude={"contract_id"}) == deal.contract.model_dump(
        exclude={"contract_id"}
    )
    assert won.activation_sla_hours == deal.activation_sla_hours
    assert won.envelope.occurred_at == deal.envelope.occurred_at


# The simulated ERP events each platform's shipped mapping has a native event for.
NATIVE_ERP_EVENTS = {
    "netsuite": {"project-activated", "time-entry-approved", "expense-approved"},
    "certinia": {"project-activated", "time-entry-approved", "expense-approved",
                 "milestone-completed"},
    "oracle": {"project-activated", "milestone-completed"},
    "sap": {"project-activated"},
}  # fmt: skip


def _erp_format(platform: str, org: SalesforceEmulator, ids: IdMap) -> NativeFormat:
    return format_for(platform, org, ids, lambda _invoice_id: None)


@pytest.mark.parametrize("platform", sorted(NATIVE_ERP_EVENTS))
async def test_erp_events_carry_the_platform_project_id(
    org: SalesforceEmulator, platform: str
) -> None:
    ids = IdMap()
    ids.learn("PRJ-000001", "4711")
    fmt = _erp_format(platform, org, ids)
    reader = SalesforceReader(emulator_config(org, "certinia"))
    sent = set()
    async with Enricher({"certinia": reader}) as enricher:
        for event in _erp_events():
            post = fmt.encode(event)
            if post is None:
                continue
            sent.add(event.EVENT_TYPE)
            [translated] = await _translated(post, enricher)
            assert type(translated) is type(event)
            expected = event.model_copy(update={"project_id": "4711"})
            if platform == "certinia" and isinstance(event, TimeEntryApproved):
                # A Certinia timecard is a week; each weekday's hours are one entry.
                day = f"{event.entry.entry_id}:{event.entry.work_date.strftime('%A').lower()}"
                entry = event.entry.model_copy(update={"entry_id": day})
                expected = expected.model_copy(update={"entry": entry})
            assert translated.model_dump(exclude={"envelope"}) == expected.model_dump(
                exclude={"envelope"}
            )
            assert translated.envelope.occurred_at == AT
    assert sent == NATIVE_ERP_EVENTS[platform]


async def test_a_payment_from_stripe_is_invoice_paid_with_stripes_invoice_id() -> None:
    ids = IdMap()
    ids.learn("INV-000001", "in_q2c000007")
    ids.learn("PRJ-000001", "4711")
    total = Money(amount=Decimal("1250.50"), currency="EUR")
    invoice = Invoice(
        invoice_id="INV-000001", invoice_reference="D-1:invoice:M1", project_id="PRJ-000001",
        lines=(InvoiceLine(description="M1", quantity=Decimal(1), unit_price=total, amount=total),),
        total=total, due_date=date(2026, 3, 1),
    )  # fmt: skip
    fmt = StripeFormat(ids, lambda sim_id: ("D-1", invoice) if sim_id == "INV-000001" else None)
    paid = PaymentReceived(
        # Uncorrelated, as many platform events are: the deal comes from the invoice metadata.
        envelope=_envelope("payment-received").model_copy(update={"correlation_id": None}),
        payment=Payment(payment_id="PAY-1", invoice_id="INV-000001", amount=total, received_at=AT),
    )
    post = fmt.encode(paid)
    assert post is not None
    [translated] = await _translated(post)
    assert isinstance(translated, PaymentReceived)
    assert translated.payment.invoice_id == "in_q2c000007"
    assert translated.payment.amount == total
    assert translated.payment.received_at == AT
    assert translated.envelope.correlation_id == "D-1"
    # The same payment sent again is the same delivery: the same canonical event id.
    [again] = await _translated(fmt.encode(paid))  # type: ignore[arg-type]
    assert again.envelope.event_id == translated.envelope.event_id


def test_an_event_without_a_native_form_is_left_to_the_canonical_path() -> None:
    fmt = NetSuiteFormat(IdMap())
    won = generate_deals(1, seed=1, start=date(2026, 3, 2)).deals[0].closed_won
    assert fmt.encode(won) is None


def test_a_canonical_event_carries_the_platform_ids_the_engine_knows() -> None:
    # NetSuite has no native milestone event: the simulation publishes it canonically, and the
    # deal's saga knows the project only by NetSuite's id (from the create-project reply).
    ids = IdMap()
    ids.learn("PRJ-000001", "4711")
    ids.learn("INV-000001", "in_q2c000007")
    [*_, completed] = _erp_events()
    completed = completed.model_copy(
        update={
            "envelope": completed.envelope.model_copy(
                update={"source_ids": {"project_id": "PRJ-000001"}}
            )
        }
    )
    sent = ids.to_platform(completed)
    assert isinstance(sent, MilestoneCompleted)
    assert sent.project_id == "4711"
    assert sent.envelope.source_ids == {"project_id": "4711"}
    assert sent.model_dump(exclude={"project_id", "envelope"}) == completed.model_dump(
        exclude={"project_id", "envelope"}
    )
    # Nested ids too (a payment's invoice), and back to the simulation's own.
    total = Money(amount=Decimal("10.00"), currency="EUR")
    paid = PaymentReceived(
        envelope=_envelope("payment-received"),
        payment=Payment(payment_id="PAY-1", invoice_id="INV-000001", amount=total, received_at=AT),
    )
    assert ids.to_platform(paid).payment.invoice_id == "in_q2c000007"
    assert ids.to_sim(ids.to_platform(paid)) == paid
    # Ids never learnt stay as they are.
    assert IdMap().to_platform(completed) is completed
