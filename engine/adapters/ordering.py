"""Per-key ordering across retry tiers (pure bookkeeping).

While a saga key has a command waiting in a retry tier, a later command of that key must not
overtake it: it follows to that tier (behind it, same partition) without being attempted. The
gate counts, per key and tier, the commands queued there and not consumed back yet; a key's
*frontier* is the highest tier holding one of its commands. A command consumed from tier `t`
is attempted only when no tier above `t` holds a command of its key; otherwise it follows to
the nearest such tier (see `follow_to`). A command that is dead-lettered releases its key, so one poison
command never blocks its key forever.
"""

from __future__ import annotations

from collections import defaultdict


class KeyGate:
    """Counts commands per (key, tier) that are queued in a retry topic."""

    def __init__(self) -> None:
        self._queued: defaultdict[bytes, defaultdict[int, int]] = defaultdict(
            lambda: defaultdict(int)
        )

    def hold(self, key: bytes, tier: int) -> None:
        """A command of `key` was written to retry `tier`."""
        if tier <= 0:
            raise ValueError("only retry tiers (>= 1) hold commands")
        self._queued[key][tier] += 1

    def release(self, key: bytes, tier: int) -> None:
        """A command of `key` was consumed back from retry `tier` (tier 0 is a no-op)."""
        if tier <= 0 or key not in self._queued:
            return
        tiers = self._queued[key]
        if tiers.get(tier, 0) > 0:
            tiers[tier] -= 1
            if tiers[tier] == 0:
                del tiers[tier]
        if not tiers:
            del self._queued[key]

    def frontier(self, key: bytes) -> int:
        """The highest tier holding a command of `key`, or 0 when none is queued."""
        tiers = self._queued.get(key)
        return max(tiers) if tiers else 0

    def follow_to(self, key: bytes, tier: int) -> int | None:
        """For a command of `key` consumed from `tier` (already released): the tier it must
        follow to without being attempted, or None when it may be attempted now.

        That is the lowest tier above `tier` holding a command of the key. Invariant: a key's
        commands in a higher tier are older than those in a lower one (a command only climbs
        past tiers that hold none of its key), so queueing behind the nearest older one keeps
        the key's order, and a command is attempted only when it is its key's oldest.
        """
        above = [t for t in self._queued.get(key, {}) if t > tier]
        return min(above) if above else None

    def blocked_keys(self) -> set[bytes]:
        return set(self._queued)

    def clear(self) -> None:
        """Forget everything (partitions revoked; the new owner restores from the topics)."""
        self._queued.clear()
