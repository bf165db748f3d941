"""`InFlight`: bounded sends that a caller may give up waiting for, but never send twice.

A caller that times out waiting for the broker's acknowledgement is told "not stored", yet
its record stays queued in the producer and may still land once the broker is back. If the
caller (or the platform behind it) then sends the same thing again, the topic would hold it
twice. `InFlight` remembers each unresolved send by an identity the caller chooses (an event
id, a delivery id): sending the same identity again while the first send is still pending
waits for that send instead of queueing a second record. It also caps how many sends are
unresolved at once, so a broker outage fills a bounded buffer and then pushes back.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from engine.kafka.client import Producer
from engine.kafka.records import Delivered, OutRecord


class InFlight:
    """At most `limit` unresolved sends; one per identity."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._slots = asyncio.Semaphore(limit)
        self._pending: dict[str, asyncio.Future[Any]] = {}

    @property
    def full(self) -> bool:
        """Whether every slot holds an unresolved send."""
        return self._slots.locked()

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, identity: object) -> bool:
        return identity in self._pending

    async def send(self, producer: Producer, identity: str, record: OutRecord) -> Delivered:
        """Send `record` (or join the pending send of `identity`) and wait for its ack.

        Waiting for a free slot is part of the call: wrap it in a timeout to bound it.
        Cancelling the wait leaves the send itself in flight (it may still be stored).
        """
        future = self._pending.get(identity)
        if future is None:
            await self._slots.acquire()
            try:
                future = await producer.send(record)
            except BaseException:
                self._slots.release()
                raise
            self._pending[identity] = future
            future.add_done_callback(functools.partial(self._resolved, identity))
        meta = await asyncio.shield(future)
        return Delivered(meta.topic, meta.partition, meta.offset)

    def _resolved(self, identity: str, future: asyncio.Future[Any]) -> None:
        self._slots.release()
        if self._pending.get(identity) is future:
            del self._pending[identity]
        if not future.cancelled():
            future.exception()  # retrieved: a caller that gave up is not told twice
