"""The paced producer's schedule (pure): when the i-th record of a fixed-rate load is due."""

from __future__ import annotations


def due_at(index: int, rate_eps: float) -> float:
    """Seconds after the start at which record `index` (0-based) is due at `rate_eps`."""
    if rate_eps <= 0:
        raise ValueError(f"rate must be positive, got {rate_eps}")
    return index / rate_eps


def due_count(elapsed_s: float, rate_eps: float, total: int) -> int:
    """How many records should have been sent `elapsed_s` after the start (capped at total).

    Record i is due at i / rate, so at time t the records 0..floor(t * rate) are due. Sending
    in catch-up bursts keeps the long-run rate exact even when the event loop sleeps late.
    """
    if elapsed_s < 0:
        return 0
    return min(total, int(elapsed_s * rate_eps) + 1)


def schedule(rate_eps: float, duration_s: float) -> int:
    """The number of records a load of `rate_eps` for `duration_s` sends (at least one)."""
    if duration_s <= 0:
        raise ValueError(f"duration must be positive, got {duration_s}")
    return max(1, round(rate_eps * duration_s))
