"""Percentiles and latency summaries (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks.

    Matches numpy's default ("linear"); raises ValueError on an empty sequence.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile must be in [0, 100], got {q}")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    if lo == hi:
        return float(ordered[lo])
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


@dataclass(frozen=True)
class LatencySummary:
    """End-to-end latency in milliseconds over `count` matched records at `offered_eps`."""

    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    offered_eps: float

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def summarize_latencies(samples_ms: Sequence[float], offered_eps: float) -> LatencySummary:
    """p50/p99/max of the samples (all zero when there are none, with count 0)."""
    if not samples_ms:
        return LatencySummary(0, 0.0, 0.0, 0.0, offered_eps)
    return LatencySummary(
        count=len(samples_ms),
        p50_ms=percentile(samples_ms, 50),
        p99_ms=percentile(samples_ms, 99),
        max_ms=float(max(samples_ms)),
        offered_eps=offered_eps,
    )


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is not a positive number."""
    if denominator is None or not denominator > 0:
        return None
    return numerator / denominator
