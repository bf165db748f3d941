"""Polls Oracle Fusion receivables (invoices, receipts) and publishes them as canonical events.

    q2c connectors poll-oracle --interval 60

Each poll asks `receivablesInvoices` and then `standardReceipts` for the items whose
`LastUpdateDate` is at or after the resource's watermark (ordered by it, paged with
`limit`/`offset`), publishes each new item's events through the `Publisher`
(`engine.connectors.oracle.receivables`), and only then saves the new watermark. The
watermarks live in the compacted topic `q2c.billing.poll-watermarks` (key
`oracle:<resource>`), so a restarted poller, on any machine, resumes where the last one
saved; a crash between publishing and saving publishes the same items again with the same
event ids, which the sagas drop.

An item that cannot become an event (a missing field, an unknown invoice on a receipt) is
logged with its number and field path and skipped; the watermark moves past it, so one bad
record never stops the poll. Fixing the record in Oracle updates its `LastUpdateDate`, and
the next poll picks it up again: the poller's own replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from engine.connectors.http import PlatformHttp
from engine.connectors.oracle.outbound import finder
from engine.connectors.oracle.receivables import (
    DEFAULT_PROJECT_SEGMENT,
    INVOICES,
    PLATFORM,
    RECEIPTS,
    NotAnEvent,
    Watermark,
    invoice_issued_from,
    parse_oracle_time,
    payments_from,
)
from engine.contracts import Event
from engine.kafka.client import Producer
from engine.kafka.connection import client_options
from engine.kafka.global_table import TopicFollower
from engine.kafka.records import InRecord, OutRecord
from engine.lifecycle import AsyncStartStop
from engine.publisher import Publisher
from engine.settings import Settings
from engine.topics.naming import name as topic_name

log = logging.getLogger("q2c.connectors.oracle")
WATERMARK_TOPIC = "q2c.billing.poll-watermarks"
ID_FIELDS = {INVOICES: "CustomerTransactionId", RECEIPTS: "StandardReceiptId"}


class TopicWatermarks(AsyncStartStop):
    """Watermarks in a compacted topic: read whole at start, written through on save."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topic = topic_name(settings.topic_prefix, WATERMARK_TOPIC)
        self._marks: dict[str, Watermark] = {}
        self._producer: Producer | None = None

    def _apply(self, rec: InRecord) -> None:
        if rec.key is None:
            return
        key = rec.key.decode()
        if rec.value is None:
            self._marks.pop(key, None)
            return
        try:
            self._marks[key] = Watermark.from_json(json.loads(rec.value))
        except (ValueError, TypeError) as exc:
            log.warning("skipping unreadable watermark %s at offset %s: %s", key, rec.offset, exc)

    async def start(self) -> None:
        options = client_options(self.settings)
        reader = TopicFollower([self.topic], self._apply)
        await reader.start(options)
        await reader.stop()
        producer = Producer(options, client_id=f"{self.settings.client_id}-oracle-poller")
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()

    def get(self, key: str) -> Watermark:
        return self._marks.get(key, Watermark())

    async def save(self, key: str, mark: Watermark) -> None:
        """Write `mark` and wait for the broker's ack (only then is the poll done)."""
        if self._producer is None:
            raise RuntimeError("TopicWatermarks is not started")
        value = json.dumps(mark.to_json()).encode()
        await self._producer.send_and_wait(OutRecord(self.topic, key.encode(), value, ()))
        self._marks[key] = mark


@dataclass
class PollCounts:
    """What the poller did so far."""

    polls: int = 0
    items: int = 0  # new items read
    published: int = 0  # events published
    skipped: int = 0  # items that could not become events (logged)


class ReceivablesPoller:
    """One Oracle Fusion instance's receivables, polled into canonical events."""

    def __init__(
        self,
        http: PlatformHttp,
        publisher: Publisher,
        watermarks: TopicWatermarks,
        *,
        api_version: str = "11.13.18.05",
        page_size: int = 100,
        project_segment: str = DEFAULT_PROJECT_SEGMENT,
    ) -> None:
        self.http = http
        self.publisher = publisher
        self.watermarks = watermarks
        self.base = f"/fscmRestApi/resources/{api_version}"
        self.page_size = page_size
        self.project_segment = project_segment
        self.counts = PollCounts()
        self._invoice_ids: dict[str, str] = {}  # TransactionNumber -> CustomerTransactionId
        self._stop = asyncio.Event()

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self, interval_s: float) -> None:
        """Poll every `interval_s` seconds until `request_stop()`; a failed poll is retried."""
        while not self._stop.is_set():
            try:
                await self.poll_once()
            except Exception as exc:  # transient platform/Kafka trouble: the next poll retries
                log.warning("oracle poll failed (%s: %s); retrying", type(exc).__name__, exc)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=interval_s)

    async def poll_once(self) -> int:
        """One pass over invoices then receipts; returns the events published."""
        published = await self._poll(INVOICES) + await self._poll(RECEIPTS)
        self.counts.polls += 1
        return published

    async def _poll(self, resource: str) -> int:
        key = f"{PLATFORM}:{resource}"
        start = mark = self.watermarks.get(key)
        published = 0
        async for item in self._changed(resource, start):
            record_id = str(item.get(ID_FIELDS[resource]))
            updated = parse_oracle_time(str(item["LastUpdateDate"]))
            if not mark.is_new(record_id, updated):
                continue
            self.counts.items += 1
            for event in await self._events(resource, item):
                await self.publisher.publish(event)
                published += 1
            mark = mark.after(record_id, updated)
        if mark != start:
            await self.watermarks.save(key, mark)
        self.counts.published += published
        return published

    async def _events(self, resource: str, item: dict[str, Any]) -> list[Event]:
        try:
            if resource == INVOICES:
                self._invoice_ids[str(item.get("TransactionNumber"))] = str(
                    item.get("CustomerTransactionId")
                )
                issued = invoice_issued_from(item, project_segment=self.project_segment)
                return [] if issued is None else [issued]
            for ref in item.get("remittanceReferences") or []:
                await self._resolve_invoice(str(ref.get("ReferenceNumber") or ""))
            return list(payments_from(item, self._invoice_ids))
        except NotAnEvent as exc:
            self.counts.skipped += 1
            log.warning("%s: skipped (fix the record in Oracle and it is polled again)", exc)
            return []

    async def _resolve_invoice(self, number: str) -> None:
        """Learn the invoice id of a `TransactionNumber` a receipt pays, if not known yet."""
        if not number or number in self._invoice_ids:
            return
        reply = await self.http.request(
            "GET",
            f"{self.base}/{INVOICES}",
            params={"q": finder("TransactionNumber", number), "limit": 1},
        )
        for item in reply.json().get("items") or []:
            self._invoice_ids[number] = str(item["CustomerTransactionId"])

    async def _changed(self, resource: str, mark: Watermark) -> AsyncIterator[dict[str, Any]]:
        """Every item updated at or after the watermark, oldest first, page by page."""
        params: dict[str, Any] = {"orderBy": "LastUpdateDate:asc", "limit": self.page_size}
        if mark.since is not None:
            # Oracle's ADF filter compares timestamps given in ISO 8601 with an offset.
            params["q"] = f"LastUpdateDate>='{mark.since.isoformat(timespec='milliseconds')}'"
        offset = 0
        while True:
            reply = await self.http.request(
                "GET", f"{self.base}/{quote(resource)}", params={**params, "offset": offset}
            )
            page = reply.json()
            items = page.get("items") or []
            for item in items:
                yield item
            if not page.get("hasMore") or not items:
                return
            offset += len(items)
