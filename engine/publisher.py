"""`Publisher`: how adapters put canonical events on Kafka.

Usage for adapter authors::

    from engine.publisher import Publisher
    from engine.settings import load_settings

    async with Publisher(load_settings()) as pub:
        # from a model you built (validated on construction) ...
        await pub.publish(event)
        # ... or from JSON-like data; missing envelope fields get defaults
        await pub.publish_dict("closed-won", payload, source_system="salesforce")

Each event is encoded as Avro single-object bytes (`engine.codec`), sent to its domain topic
(`<topic_prefix>q2c.<domain>.events`, or the compacted master-data topic), keyed by the
saga key when the envelope names it (`correlation_id`), else by the
business key from CONTRACTS.md, with the `q2c-*` and `traceparent` headers. Classified fields
are sealed or tokenized on the way out when the process has a field keyset
(`engine.security.protection`). The producer is
idempotent with acks=all, so a retried send never duplicates or reorders a key's events.
Invalid data raises `ContractError` naming the field before anything is sent.

Under broker loss `publish` returns only what the broker acknowledged: at most
`max_in_flight` sends are unresolved at once (more callers wait their turn: back pressure, not
an unbounded buffer), and one that is not acknowledged within `ack_timeout_s` raises
`NotStored`. Publishing the same event again joins its send still in flight instead of
queueing a second copy (`engine.kafka.inflight`), so a retry never stores it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from aiokafka.errors import OutOfOrderSequenceNumber

from engine.codec import Codec, default_codec, headers_for
from engine.contracts.builders import event_from_dict
from engine.contracts.events import Event
from engine.contracts.registry import record_key, topic_for
from engine.contracts.validation import ContractError
from engine.kafka.client import KafkaError, Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.inflight import InFlight
from engine.kafka.records import Delivered, OutRecord
from engine.lifecycle import AsyncStartStop
from engine.security.protection import seal_model
from engine.settings import Settings


class NotStored(RuntimeError):
    """The broker did not acknowledge an event in time: it may not be stored; publish again."""

    message_is_safe = True


class Publisher(AsyncStartStop):
    """An idempotent producer of canonical events; use as `async with Publisher(settings)`."""

    def __init__(
        self,
        settings: Settings,
        *,
        codec: Codec | None = None,
        ack_timeout_s: float = 60.0,
        max_in_flight: int = 1000,
        connection: KafkaConnection | None = None,
    ) -> None:
        """`connection`: the process's (built from `settings` when not given)."""
        if ack_timeout_s <= 0:
            raise ValueError("ack_timeout_s must be positive")
        self.settings = settings
        self.connection = connection or KafkaConnection.from_settings(settings)
        self.codec = codec or default_codec()
        self.ack_timeout_s = ack_timeout_s
        self._in_flight = InFlight(max_in_flight)
        self._producer: Producer | None = None

    async def start(self) -> None:
        """Connect the producer (done by `async with`)."""
        self._producer = await self._new_producer()

    async def _new_producer(self) -> Producer:
        producer = Producer(
            self.connection.options(), client_id=f"{self.settings.client_id}-publisher"
        )
        await producer.start()
        return producer

    async def _renew(self) -> None:
        """Replace a producer the broker declared dead (its sequence numbers are lost); if no
        new one connects now, keep the old one and try again on the next such failure."""
        try:
            new = await asyncio.wait_for(self._new_producer(), 30)
        except (TimeoutError, KafkaError, OSError):
            return
        old, self._producer = self._producer, new
        if old is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(old.stop(), 10)

    async def stop(self) -> None:
        """Flush pending sends and disconnect (done by `async with`)."""
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()

    def topic_for(self, event: Event) -> str:
        """The full topic name (with `settings.topic_prefix`) this event is published to."""
        return topic_for(event, self.settings.topic_prefix)

    async def publish(self, event: Event, *, traceparent: str | None = None) -> Delivered:
        """Send one event and wait for the broker's acknowledgement; returns its metadata.

        `traceparent` continues the caller's W3C trace; without it a new trace starts.
        """
        if not isinstance(event, Event):
            raise TypeError(f"publish() takes a contract event, not {type(event).__name__}")
        if self._producer is None:
            raise RuntimeError("Publisher is not started: use `async with Publisher(settings)`")
        # Models are frozen but can be built with model_construct(); re-validate so that
        # nothing unchecked reaches the topic.
        checked = type(event).model_validate(event.model_dump())
        topic, key = self.topic_for(checked), record_key(checked).encode()
        value, sealed = seal_model(checked, topic, key, self.codec)
        headers = headers_for(checked, traceparent=traceparent, codec=self.codec)
        record = OutRecord(topic=topic, key=key, value=value, headers=(*headers, *sealed))
        try:
            # The wait for a slot counts against the same deadline: a caller is never
            # parked for longer than ack_timeout_s, broker or no broker.
            async with asyncio.timeout(self.ack_timeout_s):
                return await self._in_flight.send(
                    self._producer, str(checked.envelope.event_id), record
                )
        except (TimeoutError, KafkaError) as exc:
            if isinstance(exc, OutOfOrderSequenceNumber):
                # Fatal for this producer (seen after a broker restart in `q2c chaos soak`:
                # every later send failed the same way); the next publish gets a new one.
                await self._renew()
            why = (
                f"within {self.ack_timeout_s:g} s"
                if isinstance(exc, TimeoutError)
                else (f"({type(exc).__name__})")
            )
            raise NotStored(
                f"Kafka did not acknowledge {checked.envelope.event_type} "
                f"{checked.envelope.event_id} {why}; it may not be stored: publish it again "
                "(a repeat joins this send if it is still in flight)"
            ) from None

    async def publish_dict(
        self,
        event_type: str,
        data: Mapping[str, Any],
        *,
        source_system: str | None = None,
        traceparent: str | None = None,
    ) -> Delivered:
        """Build an `event_type` event from JSON-like `data` and publish it.

        Missing envelope fields are filled: a new `event_id`, `occurred_at` now,
        `schema_version` 1, `event_type`, and `source_system` when given. Decimal amounts must
        be strings or Decimals, not floats. Raises `ContractError` naming each bad field.
        """
        event = event_from_dict(event_type, data, source_system=source_system)
        return await self.publish(event, traceparent=traceparent)


__all__ = ["ContractError", "NotStored", "Publisher"]
