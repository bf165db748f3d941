"""What each platform saw in a `--platforms` demo run: the summary's per-platform table."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from engine.emulators.base import Effect


@dataclass(frozen=True)
class PlatformStats:
    """One platform's traffic: HTTP requests it answered, effects it recorded, duplicate
    commands whose second effect was prevented, the connector's waits on its rate limit,
    and the simulated events it sent natively through the gateway (or canonically, when the
    platform has no native event q2c maps for them)."""

    platform: str
    role: str
    requests: int
    effects: int
    duplicates_prevented: int
    rate_limit_waits: int
    native_events: int
    canonical_events: int
    note: str = ""
    # "<kind> <record>" -> how many (e.g. "create job"), and how many records were created
    # more than once (a duplicate effect: must be 0).
    effect_counts: dict[str, int] = field(default_factory=dict)
    repeated_creates: int = 0


def effect_summary(effects: list[Effect]) -> tuple[dict[str, int], int]:
    """(effects by "<kind> <record>", records created more than once) of an effect log."""
    counts = Counter(f"{e.kind} {e.record}" for e in effects)
    creates = Counter((e.record, e.key) for e in effects if e.kind == "create")
    return dict(counts), sum(n - 1 for n in creates.values() if n > 1)
