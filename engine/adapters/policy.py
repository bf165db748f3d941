"""Retry policy of a `CommandRunner`: in-process backoff, then tiered retry topics (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Tier:
    """One retry topic: `<command topic>.<qualifier>`, attempted `delay_s` after it was queued."""

    qualifier: str
    delay_s: float


DEFAULT_TIERS = (Tier("retry-1m", 60.0), Tier("retry-10m", 600.0))


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up on a command.

    `attempts` in-process tries (exponential backoff from `initial_backoff_s`, capped at
    `max_backoff_s`, with jitter) per visit; then the command moves to the next tier, and after
    the last tier to the dead-letter topic. Tier delays are configurable so tests use seconds;
    the catalog only has `retry-1m` and `retry-10m` topics, so qualifiers must stay those.
    """

    attempts: int = 3
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 5.0
    handler_timeout_s: float = 30.0
    tiers: tuple[Tier, ...] = field(default=DEFAULT_TIERS)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.initial_backoff_s < 0 or self.max_backoff_s < self.initial_backoff_s:
            raise ValueError("backoff must satisfy 0 <= initial_backoff_s <= max_backoff_s")
        if self.handler_timeout_s <= 0:
            raise ValueError("handler_timeout_s must be positive")
        if any(t.delay_s < 0 for t in self.tiers):
            raise ValueError("tier delays must not be negative")

    @property
    def last_tier(self) -> int:
        """Tier numbers: 0 is the command topic itself, 1..last_tier the retry topics."""
        return len(self.tiers)

    def delay_of(self, tier: int) -> float:
        """Seconds a command waits in `tier` (1-based) before its next attempt."""
        return self.tiers[tier - 1].delay_s


@dataclass(frozen=True)
class TierTopics:
    """The topics of one target: its command topic (tier 0) and retry tiers (1..n)."""

    command: str
    tiers: tuple[str, ...]

    @classmethod
    def of(cls, command_topic: str, policy: RetryPolicy) -> TierTopics:
        return cls(command_topic, tuple(f"{command_topic}.{t.qualifier}" for t in policy.tiers))

    @property
    def all(self) -> list[str]:
        return [self.command, *self.tiers]

    def tier_of(self, topic: str) -> int:
        """0 for the command topic, n for the n-th retry topic; ValueError for others."""
        if topic == self.command:
            return 0
        return self.tiers.index(topic) + 1

    def topic(self, tier: int) -> str:
        return self.command if tier == 0 else self.tiers[tier - 1]
