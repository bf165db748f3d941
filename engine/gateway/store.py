"""Writes authenticated requests to their native topic: idempotent, acks=all, bounded wait.

A request is acknowledged to the platform only after Kafka acknowledged its record. When
Kafka does not answer within `store_timeout_s` the gateway answers 503 and the platform
retries; while the first record is still in flight, the retry joins it instead of storing a
second copy (`engine.kafka.inflight`, by delivery id); one that landed before the retry is a
duplicate delivery, which the deterministic event ids make harmless. At most `max_in_flight`
records are unresolved at once; beyond that the gateway answers 503 at once instead of
queueing without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Protocol

from engine.kafka.client import KafkaError, Producer
from engine.kafka.connection import KafkaConnection, NoBrokerError
from engine.kafka.inflight import InFlight
from engine.kafka.records import Delivered, OutRecord
from engine.settings import Settings

log = logging.getLogger("q2c.gateway")


class StoreUnavailable(RuntimeError):
    """Kafka did not acknowledge the record in time."""

    message_is_safe = True


class Store(Protocol):
    """Where the gateway writes authenticated requests (Kafka here; a fake in unit tests)."""

    async def store(self, record: OutRecord) -> Delivered: ...

    async def ready(self) -> bool: ...


class NativeStore:
    """One idempotent producer, (re)connected on demand so the gateway starts without Kafka."""

    def __init__(self, settings: Settings, timeout_s: float, max_in_flight: int = 256) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self._in_flight = InFlight(max_in_flight)
        self._producer: Producer | None = None
        self._lock = asyncio.Lock()

    async def _connected(self) -> Producer:
        async with self._lock:
            if self._producer is None:
                # Resolved here, not at start: the gateway starts, not ready, without Kafka.
                producer = Producer(
                    KafkaConnection.from_settings(self.settings).options(),
                    client_id=f"{self.settings.client_id}-gateway",
                    request_timeout_ms=int(self.timeout_s * 1000),
                )
                try:
                    await asyncio.wait_for(producer.start(), self.timeout_s)
                except BaseException:
                    with contextlib.suppress(Exception):
                        await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def store(self, record: OutRecord) -> Delivered:
        """Send and wait for the broker's acknowledgement; StoreUnavailable otherwise."""
        # A body without a delivery id (unreadable) is stored as its own delivery.
        identity = record.key.decode(errors="replace") if record.key else uuid.uuid4().hex
        if self._in_flight.full and identity not in self._in_flight:
            log.warning("native store busy: every in-flight slot is waiting for Kafka")
            raise StoreUnavailable("too many requests waiting for Kafka")
        try:
            producer = await self._connected()
            return await asyncio.wait_for(
                self._in_flight.send(producer, identity, record), self.timeout_s
            )
        except (TimeoutError, KafkaError, NoBrokerError, OSError) as exc:
            log.warning("native store unavailable: %s", type(exc).__name__)
            raise StoreUnavailable("Kafka did not acknowledge the request in time") from None

    async def ready(self) -> bool:
        """Whether a broker answers (connecting the producer first if needed)."""
        try:
            producer = await self._connected()
        except (TimeoutError, KafkaError, NoBrokerError, OSError):
            return False
        return await producer.reachable(min(2.0, self.timeout_s))

    async def stop(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), self.timeout_s)
