"""What a simulated platform does with a command (pure), and how it stamps its events.

A `Behaviour` turns one command into a `Reaction`: events to publish now, events to publish
later (by simulated time) and scheduled events to drop. It keeps the platform's own records
(projects, invoices, statuses) and draws from a seeded random source; it does no I/O.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from engine.contracts import Command, Envelope, Event

# Event ids derive from what caused the event, so a re-published event is recognisably the same.
EVENT_NAMESPACE = uuid.UUID("a3c1e7f2-5b8d-4c9e-9f0a-1d2e3f4a5b6c")


@dataclass
class Reaction:
    """The effects of one command: publish `now`, schedule `later`, drop `cancel_tags`."""

    now: list[Event] = field(default_factory=list)
    later: list[tuple[datetime, str, Event]] = field(default_factory=list)
    cancel_tags: list[str] = field(default_factory=list)


class Behaviour(Protocol):
    """A platform's business logic; `target` is the command topic it serves."""

    target: str

    def handle(self, command: Command, now: datetime) -> Reaction:
        """React to a command that is not a duplicate (the runner checked its key)."""
        ...


class EventStamper:
    """Builds envelopes for one source system.

    A `correlate_fraction` of events carry the saga key (the deal id) as correlation id; the
    rest carry only the platform's own ids, as many real systems do, so the engine must route
    them through its correlation index.
    """

    def __init__(self, source_system: str, rng: random.Random, correlate_fraction: float) -> None:
        if not 0.0 <= correlate_fraction <= 1.0:
            raise ValueError("correlate_fraction must be in [0, 1]")
        self.source_system = source_system
        self.rng = rng
        self.correlate_fraction = correlate_fraction

    def envelope(
        self,
        event_type: str,
        *,
        occurred_at: datetime,
        identity: str,
        deal_id: str,
        source_ids: dict[str, str],
        causation_id: str | None = None,
    ) -> Envelope:
        """An envelope whose event id derives from `identity` (unique per business fact)."""
        correlate = self.rng.random() < self.correlate_fraction
        return Envelope(
            event_id=str(uuid.uuid5(EVENT_NAMESPACE, f"{self.source_system}:{identity}")),
            event_type=event_type,
            occurred_at=occurred_at,
            source_system=self.source_system,
            correlation_id=deal_id if correlate else None,
            causation_id=causation_id,
            schema_version=1,
            source_ids=source_ids,
        )


class IdSequence:
    """Readable, unique ids for one kind of record: `<prefix><kind>-000001`, ..."""

    def __init__(self, prefix: str, kind: str) -> None:
        self._prefix = f"{prefix}{kind}-"
        self._next = 0

    def __call__(self) -> str:
        self._next += 1
        return f"{self._prefix}{self._next:06d}"
