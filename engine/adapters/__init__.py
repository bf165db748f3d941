"""Adapter toolkit: run a target system's handler over its command topic, with retries.

See `engine.adapters.runner.CommandRunner` for usage.
"""

from engine.adapters.dedupe import Deduper, MemoryDeduper
from engine.adapters.errors import Disposition, PermanentError, TransientError, classify
from engine.adapters.policy import DEFAULT_TIERS, RetryPolicy, Tier
from engine.adapters.runner import BugPolicy, CommandRunner, RunnerCounts, incoming_record

__all__ = [
    "DEFAULT_TIERS",
    "BugPolicy",
    "CommandRunner",
    "Deduper",
    "Disposition",
    "MemoryDeduper",
    "PermanentError",
    "RetryPolicy",
    "RunnerCounts",
    "Tier",
    "TransientError",
    "classify",
    "incoming_record",
]
