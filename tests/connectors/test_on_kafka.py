"""Outbound connectors driven by the CommandRunner on a real broker.

- A burst of 500 commands against an emulator that admits 10 requests/s: nothing lost,
  nothing dead-lettered, under 1% of requests refused (the client-side limiter paces them).
- Stripe (stripe-mock): issue-invoice read from Kafka publishes invoice-issued with Stripe's
  invoice id on the billing events topic.
- Every command delivered twice, with replies lost mid-run: one effect per command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest

from engine.adapters import RetryPolicy, Tier
from engine.codec import decode, encode, headers_for
from engine.connectors.netsuite.outbound import NetSuiteConnector
from engine.connectors.outbound.connector import OutboundConnector
from engine.connectors.outbound.service import ConnectorService
from engine.connectors.salesforce.outbound import SalesforceConnector
from engine.connectors.stripe.outbound import StripeConnector
from engine.contracts import Command, InvoiceIssued, ProjectCreated
from engine.dlq.reader import read_dead_letters
from engine.emulators.netsuite import NetSuiteEmulator
from engine.emulators.salesforce import SalesforceEmulator
from engine.kafka.client import Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import OutRecord
from engine.runtime.names import TopicNames
from engine.settings import Settings
from tests.connectors.conftest import emulator_config, stripe_config
from tests.connectors.samples import create_project, issue_invoice, update_crm_status
from tests.integration.engine_support import engine_settings, read_topic_values

pytestmark = pytest.mark.kafka

POLICY = RetryPolicy(
    attempts=3,
    initial_backoff_s=0.05,
    max_backoff_s=0.5,
    handler_timeout_s=20.0,
    tiers=(Tier("retry-1m", 1.0), Tier("retry-10m", 2.0)),
)


async def produce(settings: Settings, commands: Sequence[Command]) -> None:
    names = TopicNames(settings.topic_prefix)
    producer = Producer(KafkaConnection.from_settings(settings).options())
    await producer.start()
    try:
        await producer.send_all(
            [
                OutRecord(
                    names.commands(c.TARGET),
                    c.header.saga_key.encode(),
                    encode(c),
                    tuple(headers_for(c)),
                )
                for c in commands
            ]
        )
    finally:
        await producer.stop()


async def run_until(
    service: ConnectorService, done: Callable[[], bool], timeout_s: float = 240.0
) -> None:
    """Run the service until `done()` or the (generous, bounding) deadline."""
    async with service:
        task = asyncio.create_task(service.run())
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout_s
            while not done() and loop.time() < deadline and not task.done():
                await asyncio.sleep(0.2)
        finally:
            service.request_stop()
            await asyncio.wait_for(task, 60)


def service_for(
    settings: Settings, target: str, *connectors: OutboundConnector
) -> ConnectorService:
    return ConnectorService(settings, {target: list(connectors)}, policy=POLICY)


async def events_on(settings: Settings, topic: str) -> list[object]:
    return [
        decode(value, topic=topic, partition=0, offset=n)
        for n, (_, value) in enumerate(await read_topic_values(settings, [topic]))
    ]


async def dead_letters(settings: Settings, target: str) -> int:
    names = TopicNames(settings.topic_prefix)
    return len(
        await read_dead_letters(
            KafkaConnection.from_settings(settings).options(), [names.dlq(names.commands(target))]
        )
    )


async def test_a_burst_of_500_commands_at_10_requests_per_second_loses_nothing(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    deals = [f"D-{n:03d}" for n in range(500)]
    with SalesforceEmulator(rate_per_s=10).running() as org:
        assert isinstance(org, SalesforceEmulator)
        for deal in deals:
            org.seed("Opportunity", {"Q2C_Deal_Id__c": deal})
        await produce(settings, [update_crm_status(d, "ACTIVE") for d in deals])
        # The platform admits 10/s; q2c is configured a little under it, as an operator would.
        connector = SalesforceConnector(emulator_config(org, "salesforce", rate_per_s=9.5))
        service = service_for(settings, "crm", connector)
        await run_until(service, lambda: org.effects.count("update") >= 500, timeout_s=400)
        counts = service.runners["crm"].counts
        effects = org.effects.of("update", "Opportunity")
        requests, refused = org.requests, org.limited
    assert sorted(e.key for e in effects) == deals  # every command: exactly one effect
    assert counts.handled == 500 and counts.dead_lettered == 0
    assert await dead_letters(settings, "crm") == 0
    assert refused < 0.01 * requests, f"{refused} of {requests} requests refused"


@pytest.mark.stripe_mock
async def test_issue_invoice_from_kafka_publishes_stripes_invoice_id(
    kafka_bootstrap: str, unique: str, stripe_mock_url: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    names = TopicNames(settings.topic_prefix)
    commands = [issue_invoice(f"D-{n}", "invoice-1") for n in range(3)]
    await produce(settings, commands)
    service = service_for(settings, "billing", StripeConnector(stripe_config(stripe_mock_url)))
    await run_until(service, lambda: service.handlers["billing"].published >= 3)
    replies = await events_on(settings, names.events("billing"))
    issued = [r for r in replies if isinstance(r, InvoiceIssued)]
    assert sorted(r.envelope.correlation_id or "" for r in issued) == ["D-0", "D-1", "D-2"]
    assert all(r.invoice.invoice_id.startswith("in_") for r in issued)
    assert {r.envelope.source_system for r in issued} == {"stripe"}


async def test_commands_delivered_twice_with_lost_replies_have_one_effect_each(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    names = TopicNames(settings.topic_prefix)
    commands = [create_project(f"D-{n}") for n in range(20)]
    with NetSuiteEmulator().running() as ns:
        assert isinstance(ns, NetSuiteEmulator)
        # Five replies never arrive in time: the effect happened, the runner retries.
        ns.lose_replies(5, delay_s=1.5)
        await produce(settings, [*commands, *commands])  # every command delivered twice
        config = emulator_config(ns, "netsuite", timeout_s=0.5, breaker_reset_s=2.0)
        connector = NetSuiteConnector(config)
        service = service_for(settings, "erp", connector)
        await run_until(service, lambda: service.runners["erp"].counts.handled >= 40)
        jobs = ns.effects.of("create", "job")
        held = service.runners["erp"].counts.held
    assert sorted(e.key for e in jobs) == sorted(c.deal_id for c in commands)
    assert await dead_letters(settings, "erp") == 0
    assert held > 0  # five timeouts in a row opened the circuit: commands waited, not failed
    replies = await events_on(settings, names.events("erp"))
    created = [r for r in replies if isinstance(r, ProjectCreated)]
    # Redeliveries publish the same event again (same id): the saga's dedupe drops them.
    assert len({r.envelope.event_id for r in created}) == 20
    assert len({r.project_id for r in created}) == 20
