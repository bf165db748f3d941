"""A monotonic clock the test moves by hand (breakers, schedules and timeouts without waiting)."""

from __future__ import annotations


class FakeClock:
    """Returns `now`, which the test sets."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
