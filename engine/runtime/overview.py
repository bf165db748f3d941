"""The status page's overview as maintained tallies: stages reached and cycle times (pure).

A store adds each saga's contribution when it commits or restores the saga and takes the old
one away, so reading the overview costs the size of the tallies, never a pass over the sagas.
Cycle times are kept in logarithmic buckets `BUCKET_RATIO` wide: a tally's memory is bounded
by the range of the values, and each quantile it reports is within half a bucket (0.5%) of a
value that was added.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

BUCKET_RATIO = 1.01
_LOG_RATIO = math.log(BUCKET_RATIO)
QUANTILES = (("median", 0.5), ("p90", 0.9))

Cycles = Mapping[str, list[float]]  # cycle name -> the seconds each occurrence took


class Contribution(NamedTuple):
    """What one saga adds to the overview."""

    saga_type: str
    state: str
    reached: frozenset[str]  # every state its history entered, and its current one
    cycles: Cycles


def bucket_of(seconds: float) -> int:
    """Bucket 0 holds everything under a second; bucket k >= 1 holds [r^(k-1), r^k)."""
    if seconds < 1.0:
        return 0
    return 1 + int(math.log(seconds) / _LOG_RATIO)


def value_of(bucket: int) -> float:
    """The bucket's representative value (its geometric middle; 0 for bucket 0)."""
    return 0.0 if bucket == 0 else math.exp((bucket - 0.5) * _LOG_RATIO)


class OverviewTally:
    """Counts of stages reached per saga type, and cycle-time buckets per cycle name."""

    def __init__(self) -> None:
        # Sagas by (type, the set of states they reached): few distinct sets (the paths through
        # a type's states), and one count to change per saga.
        self.paths: Counter[tuple[str, frozenset[str]]] = Counter()
        self.cycles: dict[str, Counter[int]] = {}

    def add(self, part: Contribution, sign: int = 1) -> None:
        """Add `part` (sign -1: take it away again)."""
        self._bump(self.paths, (part.saga_type, part.reached), sign)
        for name, values in part.cycles.items():
            if not values:
                continue
            buckets = self.cycles.setdefault(name, Counter())
            for seconds in values:
                self._bump(buckets, bucket_of(seconds), sign)
            if not buckets:
                del self.cycles[name]

    def remove(self, part: Contribution) -> None:
        self.add(part, -1)

    @staticmethod
    def _bump(counter: Counter[Any], key: Any, sign: int) -> None:
        counter[key] += sign
        if not counter[key]:
            del counter[key]

    def merge(self, other: OverviewTally) -> None:
        """Fold `other` in (the tallies of a worker's tasks into one)."""
        self.paths.update(other.paths)
        for name, buckets in other.cycles.items():
            self.cycles.setdefault(name, Counter()).update(buckets)

    def reached(self, saga_type: str, stage: str) -> int:
        """How many sagas of `saga_type` ever entered state `stage`."""
        return sum(n for (t, states), n in self.paths.items() if t == saga_type and stage in states)

    def cycle_summary(self, name: str) -> dict[str, Any]:
        """count, median, p90 and max of cycle `name` (None for an empty cycle)."""
        buckets = sorted(self.cycles.get(name, Counter()).items())
        count = sum(n for _, n in buckets)
        out: dict[str, Any] = {"count": count}
        for label, q in QUANTILES:
            out[label] = _quantile(buckets, count, q)
        out["max"] = value_of(buckets[-1][0]) if buckets else None
        return out


def _quantile(buckets: list[tuple[int, int]], count: int, q: float) -> float | None:
    """The value at rank floor(q * count) (0-based) of the sorted values, as the page had it."""
    if not count:
        return None
    rank = min(count - 1, int(q * count))
    seen = 0
    for bucket, n in buckets:
        seen += n
        if seen > rank:
            return value_of(bucket)
    return value_of(buckets[-1][0])


def tally_of(parts: Iterable[Contribution]) -> OverviewTally:
    """A tally of `parts` at once (an overview over states read from the changelog)."""
    tally = OverviewTally()
    for part in parts:
        tally.add(part)
    return tally


__all__ = [
    "BUCKET_RATIO",
    "Contribution",
    "Cycles",
    "OverviewTally",
    "bucket_of",
    "tally_of",
    "value_of",
]
