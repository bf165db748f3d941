"""A circuit breaker per target (pure; the clock is injected).

After `threshold` consecutive transient failures the circuit opens: requests fail at once
with `CircuitOpen` instead of reaching a platform that is down, so queued commands do not
spend their in-process attempts on it. After `reset_s` one trial request is let through
(half-open); its success closes the circuit, its failure opens it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import IntEnum


class CircuitState(IntEnum):
    """Values exported by the `q2c_connector_circuit_state` gauge."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    """Counts consecutive failures of one target and decides whether a request may go."""

    def __init__(
        self, threshold: int = 5, reset_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if threshold < 1 or reset_s <= 0:
            raise ValueError("threshold must be >= 1 and reset_s > 0")
        self.threshold = threshold
        self.reset_s = reset_s
        self.clock = clock
        self.failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._trial or self.clock() - self._opened_at >= self.reset_s:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def remaining_s(self) -> float:
        """Seconds until a trial request may go (0 when closed or half-open)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.reset_s - (self.clock() - self._opened_at))

    def allow(self) -> bool:
        """Whether a request may be sent now; in half-open, only one trial at a time."""
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.HALF_OPEN and not self._trial:
            self._trial = True
            return True
        return False

    def success(self) -> None:
        self.failures = 0
        self._opened_at = None
        self._trial = False

    def failure(self) -> None:
        self.failures += 1
        if self._trial or self.failures >= self.threshold:
            self._opened_at = self.clock()
            self._trial = False
