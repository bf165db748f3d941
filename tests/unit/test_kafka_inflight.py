"""InFlight: a send given up on is joined by its retry, never queued twice; bounded slots."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.kafka.inflight import InFlight
from engine.kafka.records import Delivered, OutRecord


class HeldProducer:
    """Queues every record and acknowledges only when told (a broker that is away)."""

    def __init__(self) -> None:
        self.sent: list[OutRecord] = []
        self.futures: list[asyncio.Future[Any]] = []

    async def send(self, record: OutRecord) -> asyncio.Future[Any]:
        self.sent.append(record)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(fut)
        return fut

    def ack_all(self) -> None:
        for i, fut in enumerate(self.futures):
            if not fut.done():
                fut.set_result(Delivered("t", 0, i))


def _record(n: int) -> OutRecord:
    return OutRecord("t", f"k{n}".encode(), b"v", ())


async def test_a_retry_after_a_timeout_joins_the_send_in_flight() -> None:
    producer: Any = HeldProducer()
    flight = InFlight(limit=4)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(flight.send(producer, "e1", _record(1)), 0.05)
    retry = asyncio.create_task(flight.send(producer, "e1", _record(1)))
    await asyncio.sleep(0)
    producer.ack_all()
    assert await retry == Delivered("t", 0, 0)
    assert len(producer.sent) == 1  # one record for two attempts
    assert len(flight) == 0
    # Once resolved, the same identity is a new send (a later, separate publish).
    await asyncio.wait_for(
        asyncio.gather(flight.send(producer, "e1", _record(1)), _ack_soon(producer)),
        1,
    )
    assert len(producer.sent) == 2


async def _ack_soon(producer: HeldProducer) -> None:
    await asyncio.sleep(0.01)
    producer.ack_all()


async def test_slots_bound_the_unresolved_sends_and_push_back() -> None:
    producer: Any = HeldProducer()
    flight = InFlight(limit=2)
    for n in range(2):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(flight.send(producer, f"e{n}", _record(n)), 0.02)
    assert flight.full
    with pytest.raises(TimeoutError):  # the third waits for a slot and gives up
        await asyncio.wait_for(flight.send(producer, "e2", _record(2)), 0.05)
    assert len(producer.sent) == 2
    producer.ack_all()
    await asyncio.sleep(0)
    assert not flight.full
    third = asyncio.create_task(flight.send(producer, "e2", _record(2)))
    await asyncio.sleep(0)
    producer.ack_all()
    assert (await third).offset == 2


async def test_a_failed_send_is_raised_to_the_caller_and_frees_its_slot() -> None:
    producer: Any = HeldProducer()
    flight = InFlight(limit=1)
    task = asyncio.create_task(flight.send(producer, "e1", _record(1)))
    await asyncio.sleep(0)
    producer.futures[0].set_exception(ConnectionError("broker gone"))
    with pytest.raises(ConnectionError):
        await task
    assert not flight.full and "e1" not in flight
