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

An item that cannot become an event (a missing or unparseable field, an unknown invoice on a
receipt) goes to the dead-letter topic `q2c.billing.poll-replays.dlq` with a one-line reason
naming the field (`engine.connectors.oracle.rejects`) and the poll goes on: the watermark
moves past it, so one bad record never stops the poller, and none is dropped. `q2c dlq
replay` sends it back to the poller, which converts it again on its next poll; fixing the
record in Oracle updates its `LastUpdateDate`, and the next poll reads it anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
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
    record_number,
)
from engine.connectors.oracle.rejects import PollDeadLetters, key_of
from engine.contracts import Event
from engine.kafka.client import Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.global_table import TopicFollower
from engine.kafka.records import InRecord, OutRecord
from engine.lifecycle import AsyncStartStop
from engine.publisher import Publisher
from engine.settings import Settings
from engine.topics.naming import name as topic_name

log = logging.getLogger("q2c.connectors.oracle")
WATERMARK_TOPIC = "q2c.billing.poll-watermarks"
ID_FIELDS = {INVOICES: "CustomerTransactionId", RECEIPTS: "StandardReceiptId"}


def _record_id(resource: str, item: dict[str, Any]) -> str | None:
    value = item.get(ID_FIELDS[resource])
    return None if value is None or value == "" else str(value)


def _placed(resource: str, item: dict[str, Any]) -> tuple[str, datetime]:
    """The item's id and `LastUpdateDate`: where the watermark goes once it is handled."""
    number = record_number(resource, item)
    record_id = _record_id(resource, item)
    if record_id is None:
        raise NotAnEvent(number, ID_FIELDS[resource], "missing")
    if not item.get("LastUpdateDate"):
        raise NotAnEvent(number, "LastUpdateDate", "missing")
    try:
        return record_id, parse_oracle_time(str(item["LastUpdateDate"]))
    except ValueError:
        raise NotAnEvent(number, "LastUpdateDate", "not an ISO 8601 timestamp") from None


class TopicWatermarks(AsyncStartStop):
    """Watermarks in a compacted topic: read whole at start, written through on save."""

    def __init__(self, settings: Settings, connection: KafkaConnection | None = None) -> None:
        """`connection`: the process's (built from `settings` when not given)."""
        self.settings = settings
        self.connection = connection or KafkaConnection.from_settings(settings)
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
        options = self.connection.options()
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
    dead_lettered: int = 0  # items that could not become events
    replayed: int = 0  # dead letters sent back by `q2c dlq replay` and converted again


class ReceivablesPoller:
    """One Oracle Fusion instance's receivables, polled into canonical events."""

    def __init__(
        self,
        http: PlatformHttp,
        publisher: Publisher,
        watermarks: TopicWatermarks,
        dead_letters: PollDeadLetters,
        *,
        api_version: str = "11.13.18.05",
        page_size: int = 100,
        project_segment: str = DEFAULT_PROJECT_SEGMENT,
    ) -> None:
        self.http = http
        self.publisher = publisher
        self.watermarks = watermarks
        self.dead_letters = dead_letters
        self.base = f"/fscmRestApi/resources/{api_version}"
        self.page_size = page_size
        self.project_segment = project_segment
        self.counts = PollCounts()
        self._invoice_ids: dict[str, str] = {}  # TransactionNumber -> CustomerTransactionId
        # Dead letters of items the watermark cannot move past (no id or no readable
        # LastUpdateDate): the same item comes back on every poll, dead-lettered once.
        self._unplaced: set[str] = set()
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
        """Replays first, then one pass over invoices and receipts; returns the events
        published."""
        published = await self._replays()
        published += await self._poll(INVOICES) + await self._poll(RECEIPTS)
        self.counts.polls += 1
        return published

    async def _poll(self, resource: str) -> int:
        key = f"{PLATFORM}:{resource}"
        start = mark = self.watermarks.get(key)
        published = 0
        async for item in self._changed(resource, start):
            try:
                record_id, updated = _placed(resource, item)
            except NotAnEvent as problem:
                known_id = _record_id(resource, item)
                unplaced = key_of(resource, known_id, item)
                if unplaced not in self._unplaced:
                    await self._dead_letter(resource, known_id, item, problem)
                    self._unplaced.add(unplaced)
                continue
            if not mark.is_new(record_id, updated):
                continue
            self.counts.items += 1
            dead_before = self.counts.dead_lettered
            published += await self._publish(await self._events(resource, record_id, item))
            mark = mark.after(record_id, updated)
            if self.counts.dead_lettered != dead_before:
                # Past a dead letter at once: a poll failing later (Oracle, Kafka) must not
                # dead-letter the record a second time when it is retried.
                await self.watermarks.save(key, mark)
                start = mark
        if mark != start:
            await self.watermarks.save(key, mark)
        return published

    async def _replays(self) -> int:
        """Convert the dead letters `q2c dlq replay` sent back, then delete each replay."""
        published = 0
        for replay in self.dead_letters.replays():
            if replay.item is None or replay.resource not in ID_FIELDS:
                log.warning("replay %s is not a polled Oracle record; deleted", replay.key)
            else:
                record_id = _record_id(replay.resource, replay.item)
                events = await self._events(replay.resource, record_id, replay.item)
                published += await self._publish(events)
                self.counts.replayed += 1
            await self.dead_letters.done(replay)
        return published

    async def _publish(self, events: list[Event]) -> int:
        for event in events:
            await self.publisher.publish(event)
        self.counts.published += len(events)
        return len(events)

    async def _events(
        self, resource: str, record_id: str | None, item: dict[str, Any]
    ) -> list[Event]:
        """The item's events; none (and its dead letter) when it cannot become any."""
        if resource == RECEIPTS:
            for ref in item.get("remittanceReferences") or []:
                if isinstance(ref, dict):
                    await self._resolve_invoice(str(ref.get("ReferenceNumber") or ""))
        try:
            return self._convert(resource, item)
        except NotAnEvent as problem:
            await self._dead_letter(resource, record_id, item, problem)
            return []

    def _convert(self, resource: str, item: dict[str, Any]) -> list[Event]:
        try:
            if resource == INVOICES:
                self._invoice_ids[str(item.get("TransactionNumber"))] = str(
                    item.get("CustomerTransactionId")
                )
                issued = invoice_issued_from(item, project_segment=self.project_segment)
                return [] if issued is None else [issued]
            return list(payments_from(item, self._invoice_ids))
        except NotAnEvent:
            raise
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            # A field of an unexpected shape (a list where a record was, a date that is
            # not one): the record is bad, not the poller.
            reason = f"unreadable ({type(exc).__name__})"
            raise NotAnEvent(record_number(resource, item), "<record>", reason) from None

    async def _dead_letter(
        self, resource: str, record_id: str | None, item: dict[str, Any], problem: NotAnEvent
    ) -> None:
        await self.dead_letters.dead_letter(resource, record_id, item, problem)
        self.counts.dead_lettered += 1
        log.warning("%s: dead-lettered (q2c dlq list; replay with q2c dlq replay)", problem)

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
