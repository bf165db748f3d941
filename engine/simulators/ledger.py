"""Idempotency bookkeeping of a simulated platform (pure): which command keys took effect."""

from __future__ import annotations

from collections.abc import Hashable


class IdempotencyLedger:
    """Remembers every idempotency key whose effects were published.

    A platform asks `is_duplicate` before acting and calls `record` once the effects are out;
    a repeated command (same `header.idempotency_key`) is then skipped and counted.
    """

    def __init__(self) -> None:
        self._done: set[Hashable] = set()
        self.duplicates_suppressed = 0

    def __len__(self) -> int:
        return len(self._done)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._done

    def is_duplicate(self, key: Hashable) -> bool:
        """True (and counted as suppressed) when `key` already took effect."""
        if key in self._done:
            self.duplicates_suppressed += 1
            return True
        return False

    def record(self, key: Hashable) -> None:
        """Mark `key` as done: its effects are published."""
        self._done.add(key)
