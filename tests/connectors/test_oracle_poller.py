"""The Oracle receivables poller against the Oracle emulator and the real broker.

Invoices issued through the connector, one completed later, a receipt applied to one: each
becomes exactly one canonical event per Oracle record, with ids that a re-poll (or the
connector's own reply) repeats; the watermark survives a restart because it lives in its
compacted topic.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.codec import decode
from engine.connectors.http import PlatformHttp
from engine.connectors.oracle.outbound import OracleConnector
from engine.connectors.oracle.poller import ReceivablesPoller, TopicWatermarks
from engine.connectors.oracle.receivables import INVOICES, Watermark
from engine.contracts import Event, InvoiceIssued, PaymentReceived
from engine.publisher import Publisher
from engine.runtime.names import TopicNames
from engine.settings import Settings
from tests.connectors.conftest import emulator_config
from tests.connectors.samples import issue_invoice
from tests.emulators.oracle import OracleEmulator
from tests.integration.engine_support import engine_settings, read_topic_values

pytestmark = pytest.mark.kafka


async def billing_events(settings: Settings) -> list[Event]:
    topic = TopicNames(settings.topic_prefix).events("billing")
    events = []
    for name, value in await read_topic_values(settings, [topic]):
        event = decode(value, topic=name, partition=0, offset=0)
        assert isinstance(event, Event)
        events.append(event)
    return events


async def poll(settings: Settings, ora: OracleEmulator, *, reset: bool = False) -> int:
    """One poll by a freshly started poller (a restart: only the topic remembers)."""
    http, marks = PlatformHttp(emulator_config(ora, "oracle")), TopicWatermarks(settings)
    async with http, Publisher(settings) as publisher, marks:
        if reset:
            await marks.save(f"oracle:{INVOICES}", Watermark())
            await marks.save("oracle:standardReceipts", Watermark())
        poller = ReceivablesPoller(http, publisher, marks, page_size=2)
        published = await poller.poll_once()
        assert poller.counts.skipped == 0
        return published


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


async def test_a_record_that_cannot_become_an_event_is_skipped_not_blocking(
    kafka_bootstrap: str, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    with OracleEmulator().running() as ora:
        assert isinstance(ora, OracleEmulator)
        async with OracleConnector(emulator_config(ora, "oracle")) as conn:
            await conn.handle(issue_invoice("D-1", "invoice-1"))
            # Someone strips the project flexfield from an invoice in Oracle.
            (bad,) = await conn.handle(issue_invoice("D-2", "invoice-1"))
            bad_id = bad.invoice.invoice_id  # type: ignore[attr-defined]
            ora.store.of(INVOICES)[bad_id]["receivablesInvoiceDFF"] = []
            await conn.handle(issue_invoice("D-3", "invoice-1"))
        config = emulator_config(ora, "oracle")
        marks = TopicWatermarks(settings)
        async with PlatformHttp(config) as http, Publisher(settings) as publisher, marks:
            poller = ReceivablesPoller(http, publisher, marks)
            assert await poller.poll_once() == 2
    assert poller.counts.skipped == 1
    assert "oracle D-2-invoice-1: receivablesInvoiceDFF.0.q2cProjectId: missing" in caplog.text
