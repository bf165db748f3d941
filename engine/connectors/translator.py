"""`q2c translate`: native topics -> canonical events, exactly once (I/O).

Each assigned native partition has its own transactional producer (transactional id
`<client_id>-translate-<topic>-<partition>`, so a zombie translator of that partition is
fenced when a new owner starts it: aiokafka sends offsets without KIP-447's generation).
A batch of one partition is translated and its canonical events (or dead letters) are
written together with the consumed offsets in one transaction: a crash either loses the
whole batch's output and offsets (it is read again) or commits both. With an `Enricher`,
the read-backs the mappings name are made before the transaction begins; a transient read
failure rolls the batch back to be read again after a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from engine.adapters.errors import TransientError
from engine.codec import Codec, default_codec
from engine.connectors.mapping import MappingFile
from engine.connectors.outputs import Outputs, outputs_for
from engine.connectors.readback import Enricher
from engine.connectors.registry import CONNECTORS, load_mappings, native_topic, readers_from_env
from engine.connectors.settings import ConnectorSettings
from engine.gateway import metrics
from engine.kafka.client import Consumer, TransactionalProducer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import InRecord, TopicPartition
from engine.settings import Settings
from engine.topics import name

log = logging.getLogger("q2c.translator")
RETRY_PAUSE_S = 1.0


class Translator:
    """Consumes the native topics in group `<group_id>-translator` until `request_stop`."""

    def __init__(
        self,
        settings: Settings,
        mappings: dict[str, MappingFile],
        *,
        platforms: Iterable[str] | None = None,
        codec: Codec | None = None,
        enricher: Enricher | None = None,
        connection: KafkaConnection | None = None,
    ) -> None:
        """`connection`: the process's (built from `settings` when not given)."""
        self.settings = settings
        self.mappings = mappings
        self.enricher = enricher
        self.codec = codec or default_codec()
        self.group_id = f"{settings.group_id}-translator"
        chosen = list(platforms) if platforms is not None else list(CONNECTORS)
        self.topics = [name(settings.topic_prefix, native_topic(p)) for p in chosen]
        self._options: dict[str, Any] = (
            connection or KafkaConnection.from_settings(settings)
        ).options()
        self._producers: dict[TopicPartition, TransactionalProducer] = {}
        # Next offset per partition as this translator committed it. The group's committed
        # offset can lag a just-committed transaction (its markers are written after the
        # commit returns, and aiokafka cannot ask for stable offsets): after a rebalance that
        # gives a partition back, the later of the two is where to resume.
        self._committed: dict[TopicPartition, int] = {}
        self._stop = asyncio.Event()
        self._creating = asyncio.Lock()
        self.translated = 0  # native records committed (events or dead letters)

    def request_stop(self) -> None:
        self._stop.set()

    async def _producer_for(self, tp: TopicPartition) -> TransactionalProducer:
        # One lock: two producers with one transactional id would fence each other.
        async with self._creating:
            producer = self._producers.get(tp)
            if producer is None:
                producer = TransactionalProducer(
                    self._options,
                    f"{self.settings.client_id}-translate-{tp.topic}-{tp.partition}",
                )
                try:
                    await producer.start()
                except BaseException:
                    with contextlib.suppress(Exception):
                        await producer.stop()
                    raise
                self._producers[tp] = producer
            return producer

    async def _assigned(self, parts: set[TopicPartition]) -> None:
        for tp in sorted(parts, key=lambda t: (t.topic, t.partition)):
            await self._producer_for(tp)
        for tp in parts:
            at = await self._resume_at(tp)
            self._consumer.seek(tp, at)
            log.info("translating %s[%d] from offset %d", tp.topic, tp.partition, at)

    async def _resume_at(self, tp: TopicPartition) -> int:
        group = await self._consumer.committed(tp)
        known = [o for o in (group, self._committed.get(tp)) if o is not None]
        if known:
            return max(known)
        return (await self._consumer.beginning_offsets([tp]))[tp]

    async def _revoked(self, parts: set[TopicPartition]) -> None:
        for tp in parts:
            producer = self._producers.pop(tp, None)
            if producer is not None:
                with contextlib.suppress(Exception):
                    await producer.stop()

    async def run(self) -> None:
        """Translate until `request_stop()`; leaves the group cleanly."""
        if self.enricher is not None:
            await self.enricher.start()
        try:
            await self._consume()
        finally:
            if self.enricher is not None:
                await self.enricher.stop()

    async def _consume(self) -> None:
        self._consumer = Consumer(self._options, group_id=self.group_id, client_id="q2c-translator")
        await self._consumer.start()
        self._consumer.subscribe(self.topics, self._assigned, self._revoked)
        try:
            while not self._stop.is_set():
                records = await self._consumer.poll(timeout_ms=200)
                by_partition: dict[TopicPartition, list[InRecord]] = defaultdict(list)
                for rec in records:
                    by_partition[TopicPartition(rec.topic, rec.partition)].append(rec)
                for tp, batch in by_partition.items():
                    await self._commit_batch(tp, batch)
        finally:
            # The consumer first: it cancels an assignment callback still starting producers.
            await self._consumer.stop()
            await self._revoked(set(self._producers))

    async def _commit_batch(self, tp: TopicPartition, batch: list[InRecord]) -> None:
        if tp not in self._consumer.assignment():  # revoked while the batch was in flight
            return
        # A rebalance during a batch seeks to the offset that batch then commits, and the
        # consumer reads those records again: translating them twice would dead-letter twice.
        done = self._committed.get(tp)
        if done is not None:
            batch = [r for r in batch if r.offset >= done]
            if not batch:
                return
        # Records can arrive while the assignment callback is still starting producers.
        producer = await self._producer_for(tp)
        now_ms = int(time.time() * 1000)
        try:
            # Read-backs first, outside the transaction: a transient read failure retries the
            # batch like a failed commit, and the native records stay where they are.
            planned = [
                await outputs_for(
                    r, self.mappings, self.codec, self.settings.topic_prefix, now_ms, self.enricher
                )
                for r in batch
            ]
            await producer.begin()
            try:
                futures = [await producer.send(out) for p in planned for out in p.records]
                await producer.commit({tp: batch[-1].offset + 1}, self.group_id)
            except BaseException:
                with contextlib.suppress(Exception):
                    await producer.abort()
                raise
            for fut in futures:
                await fut
        except Exception as exc:
            # Rolled back, or a commit whose answer was lost: resume where the group says
            # after a pause (a batch translated twice gives the same event ids).
            log.warning("translation batch of %s failed: %s", tp, _safe(exc))
            await asyncio.sleep(RETRY_PAUSE_S)
            if tp not in self._consumer.assignment():
                return  # its new owner resumes from the group's offset
            try:
                at = await self._resume_at(tp)
            except Exception:
                at = batch[0].offset
            self._consumer.seek(tp, at)
            return
        self._committed[tp] = batch[-1].offset + 1
        self.translated += len(batch)
        platform = tp.topic.rsplit(".", 1)[-1]
        for p in planned:
            _count(platform, p)


def _safe(exc: Exception) -> str:
    # A platform error's text is its status and code (never record values); others: the class.
    if isinstance(exc, TransientError):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


def _count(platform: str, outputs: Outputs) -> None:
    if outputs.unmapped is not None:
        metrics.UNMAPPED.labels(platform).inc()
    elif not outputs.events:
        metrics.NOTHING.labels(platform).inc()
    for event in outputs.events:
        metrics.TRANSLATED.labels(platform, event.EVENT_TYPE).inc()


def configured_translator(settings: Settings) -> Translator:
    """The translator `q2c translate` and `q2c run --with-gateway` run: the mappings from
    `Q2C_CONNECTOR_*` (raises MappingError naming file, line and field) and a reader for each
    platform connection configured (`Q2C_<PLATFORM>_*`)."""
    mappings = load_mappings(ConnectorSettings())
    readers = readers_from_env(mappings)
    return Translator(settings, mappings, enricher=Enricher(readers) if readers else None)
