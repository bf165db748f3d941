"""`SimClock`: simulated business time that runs `time_scale` times faster than real time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class SimClock:
    """A zero-arg callable returning an aware UTC datetime, shared by platforms and the engine.

    `SimClock(3600)` makes one real second one simulated hour, so contract periods, activation
    SLAs and invoice due dates play out in minutes. Simulated time starts at `start` (default:
    the real time now) and only ever moves forward. A clock built with `running=False` stays
    at `start` until `begin()`: the demo starts it once the engine is ready, so no deal ages
    while Kafka and the engine are still starting.
    """

    def __init__(
        self,
        time_scale: float,
        *,
        start: datetime | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        running: bool = True,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self.start = (start or datetime.now(UTC)).astimezone(UTC)
        self._monotonic = monotonic
        self._t0: float | None = monotonic() if running else None

    @property
    def running(self) -> bool:
        return self._t0 is not None

    def begin(self) -> None:
        """Let simulated time run from `start` (no effect on a clock that already runs)."""
        if self._t0 is None:
            self._t0 = self._monotonic()

    def __call__(self) -> datetime:
        """The simulated time now (`start` until the clock runs)."""
        if self._t0 is None:
            return self.start
        return self.start + timedelta(seconds=(self._monotonic() - self._t0) * self.time_scale)

    def real_seconds(self, sim: timedelta) -> float:
        """How many real seconds a simulated duration takes."""
        return sim.total_seconds() / self.time_scale

    def sim_duration(self, real_seconds: float) -> timedelta:
        """The simulated duration that passes in `real_seconds` of real time."""
        return timedelta(seconds=real_seconds * self.time_scale)
