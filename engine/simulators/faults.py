"""Fault injection for a simulated platform (pure): latency, transient errors, an outage window."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class FaultConfig:
    """What can go wrong on one platform.

    - `latency_ms`: (min, max) real milliseconds spent on every command attempt.
    - `error_rate`: probability that an attempt fails transiently; the platform retries the
      command after an exponential backoff and, after `max_consecutive_failures`, succeeds,
      so every command is eventually processed.
    - `outage_start_s` / `outage_duration_s`: from that many real seconds after the platform
      started, it processes nothing (commands queue up in Kafka) for that long.
    """

    latency_ms: tuple[int, int] = (0, 0)
    error_rate: float = 0.0
    outage_start_s: float | None = None
    outage_duration_s: float = 0.0
    backoff_base_ms: int = 50
    backoff_cap_ms: int = 1000
    max_consecutive_failures: int = 6

    def __post_init__(self) -> None:
        low, high = self.latency_ms
        if not 0 <= low <= high:
            raise ValueError("latency_ms must be (min, max) with 0 <= min <= max")
        if not 0.0 <= self.error_rate < 1.0:
            raise ValueError("error_rate must be in [0, 1)")
        if self.outage_duration_s < 0:
            raise ValueError("outage_duration_s must not be negative")
        if self.max_consecutive_failures < 0:
            raise ValueError("max_consecutive_failures must not be negative")


NO_FAULTS = FaultConfig()


class FaultSchedule:
    """Draws the faults of one platform from its config and a seeded random source."""

    def __init__(self, config: FaultConfig, rng: random.Random) -> None:
        self.config = config
        self._rng = rng

    def latency_s(self) -> float:
        """Real seconds one attempt takes."""
        low, high = self.config.latency_ms
        return self._rng.uniform(low, high) / 1000.0

    def fails(self, attempt: int) -> bool:
        """Whether attempt number `attempt` (0-based) fails transiently.

        Bounded: once `max_consecutive_failures` attempts have failed the next one succeeds,
        so a retry loop over this always terminates.
        """
        if attempt >= self.config.max_consecutive_failures:
            return False
        return self._rng.random() < self.config.error_rate

    def backoff_s(self, attempt: int) -> float:
        """Real seconds to wait before retrying after failed attempt `attempt` (0-based)."""
        delay_ms = min(self.config.backoff_cap_ms, self.config.backoff_base_ms * 2**attempt)
        return delay_ms / 1000.0

    def outage_remaining_s(self, elapsed_s: float) -> float:
        """Real seconds until the outage ends, `elapsed_s` after start; 0 outside the window."""
        start = self.config.outage_start_s
        if start is None:
            return 0.0
        end = start + self.config.outage_duration_s
        return end - elapsed_s if start <= elapsed_s < end else 0.0
