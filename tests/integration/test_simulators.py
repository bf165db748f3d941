"""The simulated platforms against a real broker: commands in, events out, duplicates absorbed."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest

from engine.codec import decode, encode, headers_for
from engine.contracts import (
    ClosedWon,
    Command,
    Event,
    InvoiceLine,
    IssueInvoice,
    Money,
    business_key,
    topic_for,
)
from engine.kafka.client import Consumer, Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import OutRecord, TopicPartition
from engine.runtime.names import TopicNames
from engine.settings import Settings
from engine.simulators import (
    DealConfig,
    FaultConfig,
    Platforms,
    SimClock,
    SimConfig,
    generate_deals,
)
from engine.topics import ensure_topics
from tests.command_builders import command

pytestmark = pytest.mark.kafka
DAY = 86_400.0


@pytest.fixture
async def settings(kafka_bootstrap: str, unique: str) -> Settings:
    s = Settings(
        bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{unique}.", group_id=f"g{unique}"
    )
    await ensure_topics(s)
    return s


async def send(settings: Settings, commands: list[Command]) -> None:
    producer = Producer(KafkaConnection.from_settings(settings).options())
    await producer.start()
    try:
        await producer.send_all(
            OutRecord(
                topic_for(c, settings.topic_prefix),
                business_key(c).encode(),
                encode(c),
                tuple(headers_for(c)),
            )
            for c in commands
        )
    finally:
        await producer.stop()


async def read_events(
    settings: Settings, domain: str, *, until: int, timeout_s: float = 30.0
) -> list[Event]:
    """Events of a domain topic from the start, until `until` arrived (+ a grace poll)."""
    topic = TopicNames(settings.topic_prefix).events(domain)
    consumer = Consumer(KafkaConnection.from_settings(settings).options(), group_id=None)
    await consumer.start()
    events: list[Event] = []
    try:
        parts = [TopicPartition(topic, p) for p in sorted(await consumer.partitions_for(topic))]
        consumer.assign(parts)
        await consumer.seek_to_beginning(parts)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        grace = 0
        while loop.time() < deadline and grace < 5:  # bounded by time and grace polls
            for rec in await consumer.poll(timeout_ms=300):
                model = decode(
                    rec.value or b"", topic=rec.topic, partition=rec.partition, offset=rec.offset
                )
                assert isinstance(model, Event)
                events.append(model)
            if len(events) >= until:
                grace += 1
    finally:
        await consumer.stop()
    return events


def milestone_deal(term_days: tuple[int, int] = (3, 4)) -> ClosedWon:
    config = DealConfig(bad_fraction=0.0, milestone_fraction=1.0, term_days=term_days)
    return generate_deals(1, seed=42, start=date.today(), config=config).deals[0].closed_won


def issue_invoice(deal: ClosedWon, project_id: str, step: str) -> Command:
    milestone = deal.contract.milestones[0]
    line = InvoiceLine(
        description=milestone.name,
        quantity=Decimal(1),
        unit_price=milestone.amount,
        amount=milestone.amount,
    )
    return command(
        "issue-invoice",
        deal.deal_id,
        step,
        project_id=project_id,
        deal_id=deal.deal_id,
        invoice_reference=f"{deal.deal_id}:{step}",
        lines=(line,),
        total=Money(amount=milestone.amount.amount, currency=milestone.amount.currency),
        payment_terms_days=deal.contract.payment_terms_days,
    )


async def test_erp_creates_activates_completes_milestones_once(settings: Settings) -> None:
    deal = milestone_deal()
    clock = SimClock(DAY)  # one real second per simulated day
    create = command(
        "create-project",
        deal.deal_id,
        "create-project",
        deal_id=deal.deal_id,
        account=deal.account,
        contract=deal.contract,
    )
    async with Platforms(settings, SimConfig(correlate_fraction=0.5), clock) as platforms:
        # The same command twice (a redelivery), as separate sends.
        await send(settings, [create])
        await send(settings, [create])
        expected = 2 + len(deal.contract.milestones)
        events = await read_events(settings, "erp", until=expected, timeout_s=30)
        snapshot = platforms.snapshot()
    types = [e.envelope.event_type for e in events]
    assert types.count("project-created") == 1
    assert types.count("project-activated") == 1
    assert types.count("milestone-completed") == len(deal.contract.milestones)
    assert len(events) == expected
    created = next(e for e in events if e.envelope.event_type == "project-created")
    assert created.deal_id == deal.deal_id  # type: ignore[attr-defined]
    assert created.envelope.causation_id == create.header.command_id
    project_id = created.project_id  # type: ignore[attr-defined]
    assert all(getattr(e, "project_id", None) == project_id for e in events if e is not created)
    assert snapshot.commands_by_target["erp"]["create-project"] == 1
    # At least the command sent twice; a redelivery after a rebalance adds suppressions, never
    # effects (counted exactly above).
    assert snapshot.duplicates_suppressed["erp"] >= 1
    assert snapshot.events_published["milestone-completed"] == len(deal.contract.milestones)


async def test_billing_issues_once_echoing_the_key_and_gets_paid(settings: Settings) -> None:
    deal = milestone_deal()
    clock = SimClock(DAY * 4)  # payment terms pass in seconds
    schedule = command(
        "create-billing-schedule",
        deal.deal_id,
        "create-billing-schedule",
        project_id="PRJ-X1",
        deal_id=deal.deal_id,
        contract=deal.contract,
    )
    step = f"invoice:milestone:{deal.contract.milestones[0].milestone_id}"
    invoice_cmd = issue_invoice(deal, "PRJ-X1", step)
    assert isinstance(invoice_cmd, IssueInvoice)
    async with Platforms(settings, SimConfig(), clock) as platforms:
        await send(settings, [schedule, invoice_cmd, invoice_cmd, schedule])
        events = await read_events(settings, "billing", until=3, timeout_s=40)
        snapshot = platforms.snapshot()
    types = sorted(e.envelope.event_type for e in events)
    assert types == ["billing-schedule-created", "invoice-issued", "payment-received"]
    issued = next(e for e in events if e.envelope.event_type == "invoice-issued")
    invoice = issued.invoice  # type: ignore[attr-defined]
    assert invoice.invoice_reference == invoice_cmd.header.idempotency_key
    assert invoice.total == invoice_cmd.total and invoice.lines == invoice_cmd.lines
    paid = next(e for e in events if e.envelope.event_type == "payment-received")
    assert paid.payment.invoice_id == invoice.invoice_id  # type: ignore[attr-defined]
    # At least the two commands sent twice (a redelivered batch adds more, never an effect).
    assert snapshot.duplicates_suppressed["billing"] >= 2
    assert snapshot.commands_by_target["billing"] == {
        "create-billing-schedule": 1,
        "issue-invoice": 1,
    }


async def test_faulty_platform_still_processes_every_command(settings: Settings) -> None:
    faults = FaultConfig(
        latency_ms=(5, 40),
        error_rate=0.5,
        outage_start_s=0.0,
        outage_duration_s=3.0,
        backoff_base_ms=20,
        backoff_cap_ms=200,
    )
    config = SimConfig(crm_faults=faults)
    statuses = [
        command(
            "update-crm-status",
            f"D-{i}",
            "crm-status:validating",
            deal_id=f"D-{i}",
            status="validating",
            detail="",
        )
        for i in range(20)
    ]
    loop = asyncio.get_running_loop()
    async with Platforms(settings, config, SimClock(3600)) as platforms:
        started = loop.time()
        await send(settings, statuses)
        await asyncio.sleep(1.0)
        assert platforms.crm.in_outage
        assert platforms.crm_behaviour.status == {}  # nothing processed during the outage
        for _ in range(300):  # bounded: 30 s
            if len(platforms.crm_behaviour.status) == 20:
                break
            await asyncio.sleep(0.1)
        finished = loop.time()
        snapshot = platforms.snapshot()
    assert platforms.crm_behaviour.status == {f"D-{i}": "validating" for i in range(20)}
    assert finished - started >= 3.0 - 0.5
    assert snapshot.commands_by_target["crm"]["update-crm-status"] == 20
    assert snapshot.transient_failures["crm"] > 0
