"""Which record types the topic catalog admits on each topic (pure).

The worker checks every decoded record against its topic's `value_schemas` before routing it:
a type the catalog does not allow there (a producer writing the wrong topic, or a forged
record) is dead-lettered at once with the reason, instead of waiting the correlation window
and holding back the partition's offset.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Admission:
    """Logical topic name -> the Avro type names allowed on it (topics not listed: no rule)."""

    allowed: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_topics(cls, topics: Iterable[tuple[str, Iterable[str]]]) -> Admission:
        """From `(logical name, value_schemas)` pairs, e.g. the catalog's topics."""
        return cls({name: frozenset(schemas) for name, schemas in topics})

    def refusal(self, logical_topic: str, type_name: str) -> str | None:
        """Why `type_name` may not be on `logical_topic`, or None when it may."""
        allowed = self.allowed.get(logical_topic)
        if allowed is None or type_name in allowed:
            return None
        return f"{type_name} is not allowed on {logical_topic} by the topic catalog"
