"""Hostile but valid input, measured in process: the cost of parking one more record while
many wait for their saga's correlation (it was a scan of the partition's queue per record).

The figure is microseconds per record (`WaitRoom.blocks` then `add`) with `waiting` records
already parked, each under its own key and waiting on its own correlation id; a ratio near 1
between a small and a large room means the cost does not grow with the room.
"""

from __future__ import annotations

import time
from typing import Any

from engine.kafka.records import InRecord
from engine.runtime.waiting import WaitRoom

PROBES = 2_000
SMALL, LARGE = 100, 20_000


def _record(i: int) -> InRecord:
    return InRecord("q2c.billing.events", 0, i, f"INV-{i:08d}".encode(), b"v", (), 0)


def park_cost_us(waiting: int) -> float:
    """Microseconds to check and park one record with `waiting` records already parked."""
    room = WaitRoom()
    for i in range(waiting):
        room.add(_record(i), 0.0, waits_on=(f"invoice:{i}",))
    probes = [_record(waiting + i) for i in range(PROBES)]
    began = time.perf_counter()
    for n, rec in enumerate(probes):
        if not room.blocks(rec):
            room.add(rec, float(n), waits_on=(f"invoice:{waiting + n}",))
    return (time.perf_counter() - began) / PROBES * 1e6


def hostile_costs() -> dict[str, Any]:
    """Parking cost with SMALL and LARGE rooms, and their ratio."""
    small, large = park_cost_us(SMALL), park_cost_us(LARGE)
    return {
        "park_us_per_record": {str(SMALL): small, str(LARGE): large},
        "park_cost_ratio_large_to_small": large / small if small > 0 else None,
    }


__all__ = ["LARGE", "SMALL", "hostile_costs", "park_cost_us"]
