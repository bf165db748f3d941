"""The Oracle receivables poller against the Oracle emulator and the real broker.

Invoices issued through the connector, one completed later, a receipt applied to one: each
becomes exactly one canonical event per Oracle record, with ids that a re-poll (or the
connector's own reply) repeats; the watermark survives a restart because it lives in its
compacted topic. A record that cannot become an event is a dead letter with its reason, the
poll goes on, and `q2c dlq replay` has the next poll convert it again.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest

from engine.codec import decode
from engine.connectors.http import PlatformHttp
from engine.connectors.oracle.outbound import OracleConnector
from engine.connectors.oracle.poller import ReceivablesPoller, TopicWatermarks
from engine.connectors.oracle.receivables import INVOICES, Watermark
from engine.connectors.oracle.rejects import REPLAY_TOPIC, PollDeadLetters
from engine.contracts import Event, InvoiceIssued, PaymentReceived
from engine.emulators.oracle import OracleEmulator
from engine.publisher import Publisher
from engine.runtime.names import TopicNames
from engine.settings import Settings
from tests.connectors.conftest import emulator_config
from tests.connectors.samples import issue_invoice
from tests.integration.engine_support import cli, engine_settings, read_topic_values

pytestmark = pytest.mark.kafka


async def billing_events(settings: Settings) -> list[Event]:
    topic = TopicNames(settings.topic_prefix).events("billing")
    events = []
    for name, value in await read_topic_values(settings, [topic]):
        event = decode(value, topic=name, partition=0, offset=0)
        assert isinstance(event, Event)
        events.append(event)
    return events


async def poller_run(
    settings: Settings, ora: OracleEmulator, *, reset: bool = False
) -> ReceivablesPoller:
    """One poll by a freshly started poller (a restart: only the topics remember)."""
    http, marks = PlatformHttp(emulator_config(ora, "oracle")), TopicWatermarks(settings)
    async with http, Publisher(settings) as publisher, marks, PollDeadLetters(settings) as dead:
        if reset:
            await marks.save(f"oracle:{INVOICES}", Watermark())
            await marks.save("oracle:standardReceipts", Watermark())
        poller = ReceivablesPoller(http, publisher, marks, dead, page_size=2)
        await poller.poll_once()
        return poller


async def poll(settings: Settings, ora: OracleEmulator, *, reset: bool = False) -> int:
    poller = await poller_run(settings, ora, reset=reset)
    assert poller.counts.dead_lettered == 0
    return poller.counts.published


async def test_receivables_become_events_once_and_repoll_gives_the_same_ids(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    with OracleEmulator().running() as ora:
        assert isinstance(ora, OracleEmulator)
        async with OracleConnector(emulator_config(ora, "oracle")) as conn:
            replies = [
                (await conn.handle(issue_invoice(f"D-{i}", "invoice-1")))[0] for i in range(3)
            ]
        # An invoice keyed in by hand in Oracle, not complete yet: not issued.
        draft = {"TransactionNumber": "MAN-1", "InvoiceCurrencyCode": "EUR"}
        ora.store.of(INVOICES)["9"] = {**draft, "CustomerTransactionId": "9",
                                       "InvoiceStatus": "Incomplete",
                                       "LastUpdateDate": ora.stamp()}  # fmt: skip
        ora.receive_payment("R-1", {"D-0-invoice-1": "1250.50"}, "EUR")

        assert await poll(settings, ora) == 4  # three invoices, one receipt
        assert await poll(settings, ora) == 0  # the watermark, read back from its topic
        assert await poll(settings, ora, reset=True) == 4  # from scratch: the same events
        first = await billing_events(settings)

        # Completing the draft moves its LastUpdateDate: the next poll issues it.
        ora.store.of(INVOICES)["9"].update(
            InvoiceStatus="Complete", TransactionDate="2026-01-01", PaymentTerms="NET 30",
            receivablesInvoiceLines=[{"Description": "Setup", "Quantity": "2",
                                      "UnitSellingPrice": "100.00"}],
            receivablesInvoiceDFF=[{"q2cProjectId": "P-9"}], LastUpdateDate=ora.stamp(),
        )  # fmt: skip
        assert await poll(settings, ora) == 1
        after = await billing_events(settings)

    issued = [e for e in first if isinstance(e, InvoiceIssued)]
    paid = [e for e in first if isinstance(e, PaymentReceived)]
    assert len(issued) == 6 and len(paid) == 2  # every record twice ...
    assert len({e.envelope.event_id for e in first}) == 4  # ... under the same four ids
    # The poller's invoice-issued is the connector's reply: one event for the saga, not two.
    assert {r.envelope.event_id for r in replies} == {e.envelope.event_id for e in issued}
    by_number = {e.invoice.invoice_reference: e.invoice for e in issued}
    assert by_number["D-0-invoice-1"].total.amount == replies[0].invoice.total.amount  # type: ignore[attr-defined]
    assert by_number["D-0-invoice-1"].project_id == "P-1"
    (payment,) = {e.payment for e in paid}
    assert payment.invoice_id == by_number["D-0-invoice-1"].invoice_id
    new = [e for e in after if e.envelope.event_id not in {x.envelope.event_id for x in first}]
    assert [type(e) for e in new] == [InvoiceIssued]
    assert new[0].invoice.invoice_id == "9" and new[0].invoice.total.amount == Decimal(200)  # type: ignore[attr-defined]


async def test_bad_records_are_dead_letters_the_poll_goes_on_and_a_replay_converts_them(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    with OracleEmulator().running() as ora:
        assert isinstance(ora, OracleEmulator)
        async with OracleConnector(emulator_config(ora, "oracle")) as conn:
            await conn.handle(issue_invoice("D-1", "invoice-1"))
            # Someone strips the project flexfield from an invoice in Oracle.
            (bad,) = await conn.handle(issue_invoice("D-2", "invoice-1"))
            ora.store.of(INVOICES)[bad.invoice.invoice_id]["receivablesInvoiceDFF"] = []  # type: ignore[attr-defined]
            # A receipt for an invoice the poller cannot find (yet), and an invoice without
            # its LastUpdateDate (the watermark cannot be placed after it).
            ora.receive_payment("R-1", {"D-9-invoice-1": "1250.50"}, "EUR")
            manual = {**ora.store.of(INVOICES)[bad.invoice.invoice_id]}  # type: ignore[attr-defined]
            manual.update(CustomerTransactionId="77", TransactionNumber="MAN-2",
                          receivablesInvoiceDFF=[{"q2cProjectId": "P-7"}])  # fmt: skip
            del manual["LastUpdateDate"]
            ora.store.of(INVOICES)["77"] = manual
            await conn.handle(issue_invoice("D-3", "invoice-1"))

            first = await poller_run(settings, ora)
            assert (first.counts.published, first.counts.dead_lettered) == (2, 3)
            again = await poller_run(settings, ora)  # nothing new, nothing dead-lettered twice
            assert (again.counts.published, again.counts.dead_lettered) == (0, 0)

            listed = json.loads(
                await asyncio.to_thread(cli, settings, "dlq", "list", "--json", user="ops")
            )
            letters = [r for r in listed["records"] if r["original_topic"].endswith(REPLAY_TOPIC)]
            assert sorted(r["message"] for r in letters) == [
                "oracle D-2-invoice-1: receivablesInvoiceDFF.0.q2cProjectId: missing",
                "oracle MAN-2: LastUpdateDate: missing",
                "oracle R-1: remittanceReferences.0.ReferenceNumber: no such invoice",
            ]

            # The invoice the receipt pays is issued; the operator replays the dead letters.
            await conn.handle(issue_invoice("D-9", "invoice-1"))
            out = await asyncio.to_thread(cli, settings, "dlq", "replay", "--yes", user="ops")
            assert "3" in out
            replayed = await poller_run(settings, ora)
            leftover = await poller_run(settings, ora)
        events = await billing_events(settings)

    # The receipt converts on replay and the D-9 invoice is polled; D-2 and MAN-2 are still
    # bad, so they are dead letters again. Each replay is converted once.
    assert (replayed.counts.replayed, replayed.counts.published) == (3, 2)
    assert replayed.counts.dead_lettered == 2
    assert leftover.counts.replayed == 0
    paid = [e for e in events if isinstance(e, PaymentReceived)]
    assert [p.payment.payment_id for p in paid] == ["R-1/D-9-invoice-1"]
    issued = {e.invoice.invoice_reference for e in events if isinstance(e, InvoiceIssued)}
    assert issued == {"D-1-invoice-1", "D-3-invoice-1", "D-9-invoice-1"}
