"""A platform's future events (pure): what it will publish at which simulated time."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime

from engine.contracts import Event


@dataclass(order=True)
class _Entry:
    due: datetime
    seq: int
    tag: str = field(compare=False)
    event: Event = field(compare=False)


class Timeline:
    """Events scheduled by simulated time, each tagged (e.g. with its project id).

    Cancelling a tag drops its pending events: a closed project completes no more milestones.
    """

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._seq = 0
        self._cancelled: set[str] = set()

    def __len__(self) -> int:
        return sum(1 for e in self._heap if e.tag not in self._cancelled)

    def schedule(self, due: datetime, tag: str, event: Event) -> None:
        """Publish `event` once the simulated time reaches `due`."""
        self._seq += 1
        heapq.heappush(self._heap, _Entry(due, self._seq, tag, event))

    def cancel(self, tag: str) -> int:
        """Drop every pending event tagged `tag`; returns how many were dropped."""
        dropped = sum(1 for e in self._heap if e.tag == tag and e.tag not in self._cancelled)
        self._cancelled.add(tag)
        return dropped

    def next_due(self) -> datetime | None:
        """When the earliest pending event is due (None when nothing is pending)."""
        while self._heap and self._heap[0].tag in self._cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].due if self._heap else None

    def pop_due(self, now: datetime, limit: int = 1000) -> list[tuple[str, Event]]:
        """Up to `limit` (tag, event) pairs due at or before `now`, earliest first, removed."""
        out: list[tuple[str, Event]] = []
        while self._heap and len(out) < limit and self._heap[0].due <= now:
            entry = heapq.heappop(self._heap)
            if entry.tag not in self._cancelled:
                out.append((entry.tag, entry.event))
        return out
