"""What the API's POST endpoints and DLQ summary do against Kafka, behind one small protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from engine.api import actions, dlq
from engine.api.audit import audit_record
from engine.kafka.client import Producer
from engine.kafka.connection import client_options
from engine.kafka.records import TopicPartition
from engine.publisher import Publisher
from engine.runtime.names import TopicNames
from engine.settings import Settings


class Operations(Protocol):
    """Side effects and topic reads the API needs (a fake stands in for it in unit tests)."""

    async def dlq_summary(self) -> dict[str, Any]:
        """Counts by topic and error class, and the most recent dead letters."""
        ...

    async def replay(self, topic: str, partition: int, offset: int) -> dict[str, Any] | None:
        """Re-send one dead letter (logical topic name); None when there is no such record."""
        ...

    async def retry(self, saga_key: str, attempt: int, actor: str, reason: str) -> dict[str, Any]:
        """Ask the saga to retry its failed step as `attempt`."""
        ...

    async def cancel(self, saga_key: str, actor: str, reason: str) -> dict[str, Any]:
        """Ask the saga to give up and compensate."""
        ...

    async def audit(
        self, *, actor: str, action: str, target: str, outcome: str, params: Mapping[str, Any]
    ) -> None:
        """Record an operator action on the audit topic."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class KafkaOperations:
    """`Operations` on the engine's cluster; clients connect on first use, not at start-up."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.names = TopicNames(settings.topic_prefix)
        self._options = client_options(settings)
        self._producer: Producer | None = None
        self._publisher: Publisher | None = None
        self._lock = asyncio.Lock()

    async def _raw(self) -> Producer:
        async with self._lock:
            if self._producer is None:
                producer = Producer(self._options, client_id=f"{self.settings.client_id}-api")
                await producer.start()
                self._producer = producer
            return self._producer

    async def _events(self) -> Publisher:
        async with self._lock:
            if self._publisher is None:
                publisher = Publisher(self.settings)
                await publisher.start()
                self._publisher = publisher
            return self._publisher

    async def dlq_summary(self) -> dict[str, Any]:
        letters = await dlq.read_dead_letters(self._options, dlq.dlq_topics(self.names))
        return dlq.summarize(letters, self.names)

    async def replay(self, topic: str, partition: int, offset: int) -> dict[str, Any] | None:
        full = self.names.prefix + topic
        if full not in dlq.dlq_topics(self.names):
            return None
        sent = await dlq.replay(
            await self._raw(), self._options, TopicPartition(full, partition), offset
        )
        if sent is None:
            return None
        return {
            "replayed_to": self.names.logical(sent.topic),
            "partition": sent.partition,
            "offset": sent.offset,
        }

    async def retry(self, saga_key: str, attempt: int, actor: str, reason: str) -> dict[str, Any]:
        sent = await actions.request_retry(await self._events(), saga_key, attempt, actor, reason)
        return {"requested": "exception-retry-requested", "attempt": attempt, "offset": sent.offset}

    async def cancel(self, saga_key: str, actor: str, reason: str) -> dict[str, Any]:
        sent = await actions.request_cancel(await self._events(), saga_key, actor, reason)
        return {"requested": "exception-cancel-requested", "offset": sent.offset}

    async def audit(
        self, *, actor: str, action: str, target: str, outcome: str, params: Mapping[str, Any]
    ) -> None:
        record = audit_record(
            self.names.audit,
            actor=actor,
            action=action,
            target=target,
            outcome=outcome,
            params=params,
        )
        await (await self._raw()).send_and_wait(record)

    async def close(self) -> None:
        if self._publisher is not None:
            await self._publisher.stop()
            self._publisher = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
