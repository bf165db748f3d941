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

    def begin(self, at: float | None = None) -> None:
        """Let simulated time run from `start`, now or from the moment `at` of the clock's own
        time source (no effect on a clock that already runs). Until then it reads `start`."""
        if self._t0 is None:
            self._t0 = self._monotonic() if at is None else at

    def __call__(self) -> datetime:
        """The simulated time now (`start` until the clock runs)."""
        if self._t0 is None:
            return self.start
        elapsed = max(0.0, self._monotonic() - self._t0)
        return self.start + timedelta(seconds=elapsed * self.time_scale)

    @property
    def spec(self) -> str:
        """This clock for another process (`SimClock.from_spec`): only a clock on the wall
        clock (`monotonic=time.time`) that was given its beginning reads the same elsewhere."""
        if self._t0 is None or self._monotonic is not time.time:
            raise ValueError("only a begun clock on time.time can be shared with other processes")
        return f"{self.start.isoformat()}|{self.time_scale!r}|{self._t0!r}"

    @classmethod
    def from_spec(cls, spec: str) -> SimClock:
        """The clock another process described with `spec`; ValueError naming what is wrong."""
        parts = spec.split("|")
        if len(parts) != 3:
            raise ValueError(
                f"expected <start ISO time>|<time scale>|<begin epoch s>, got {spec!r}"
            )
        try:
            start = datetime.fromisoformat(parts[0])
            scale, t0 = float(parts[1]), float(parts[2])
        except ValueError as exc:
            raise ValueError(f"unreadable simulated clock {spec!r}: {exc}") from None
        if start.tzinfo is None:
            raise ValueError(f"the simulated clock's start needs a time zone, got {parts[0]!r}")
        clock = cls(scale, start=start, monotonic=time.time, running=False)
        clock.begin(at=t0)
        return clock

    def real_seconds(self, sim: timedelta) -> float:
        """How many real seconds a simulated duration takes."""
        return sim.total_seconds() / self.time_scale

    def sim_duration(self, real_seconds: float) -> timedelta:
        """The simulated duration that passes in `real_seconds` of real time."""
        return timedelta(seconds=real_seconds * self.time_scale)
