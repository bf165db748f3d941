"""Declarative saga definitions: states, transitions and park rules declared as data.

A definition reads like a table::

    SagaDefinition(
        name="quote-to-cash",
        description="...",
        starts_on=("closed-won",),
        states=("pending", "validating", ...),
        terminal=("completed", "cancelled"),
        transitions=(
            transition("pending", "closed-won", "validating", begin_validation),
            transition("active", "payment-received", ("active", "completed"),
                       record_payment, guard=invoice_known),
            transition("awaiting_activation", "timer:activation-sla", "awaiting_activation",
                       escalate_sla),
        ),
        park_in=(park("milestone-completed", PRE_ACTIVE),),
    )

`on` is an event type, or "timer:<name>" for a timer firing with that name. Handlers are small
plain functions `Context -> Outcome`; guards are `Context -> bool`. Every new saga starts in the
placeholder state "pending"; `starts_on` names the events that leave it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.saga.model import PENDING, TIMER_FIRED, Command, Effect, Event

TIMER_PREFIX = "timer:"


class SagaDefinitionError(ValueError):
    """A definition is inconsistent, or a handler broke its declaration."""


def event_key(event: Event) -> str:
    """The `on` key an event matches: its type, or "timer:<name>" for a timer firing."""
    if event.event_type == TIMER_FIRED:
        return f"{TIMER_PREFIX}{event.payload['name']}"
    return event.event_type


@dataclass(frozen=True, slots=True)
class Context:
    """What a guard or handler sees: the saga instance's current state and the event."""

    saga_type: str
    saga_key: str
    state: str
    data: Mapping[str, Any]
    event: Event

    @property
    def payload(self) -> Mapping[str, Any]:
        """The event's payload."""
        return self.event.payload

    def command(self, command_type: str, target_system: str, step: str, **payload: Any) -> Command:
        """A command caused by this event, idempotency key "<saga_key>:<step>"."""
        return Command(
            command_type=command_type,
            target_system=target_system,
            idempotency_key=f"{self.saga_key}:{step}",
            saga_key=self.saga_key,
            causation_id=self.event.event_id,
            payload=payload,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """A handler's result.

    `to` may be omitted when the transition declares a single target. `data` holds top-level
    keys that replace those of the saga's data. A `detail` is reported in the StatusChange; an
    internal transition (state unchanged) emits a StatusChange only when it has a detail.
    """

    to: str | None = None
    effects: tuple[Effect, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    detail: str | None = None


Guard = Callable[[Context], bool]
Handler = Callable[[Context], Outcome]


@dataclass(frozen=True, slots=True)
class Transition:
    """On `on` in any of `sources`, if `guard` holds, run `handler` and go to one of `targets`."""

    sources: tuple[str, ...]
    on: str
    targets: tuple[str, ...]
    handler: Handler
    guard: Guard | None = None

    @property
    def label(self) -> str:
        """`on`, plus the guard's name in brackets: used by the graph renderers."""
        if self.guard is None:
            return self.on
        return f"{self.on} [{getattr(self.guard, '__name__', 'guard')}]"

    def resolve_target(self, outcome: Outcome) -> str:
        """The target state the handler chose, checked against the declaration."""
        if outcome.to is None:
            if len(self.targets) != 1:
                raise SagaDefinitionError(
                    f"handler {self.handler.__name__} for {self.on!r} must choose one of "
                    f"{self.targets}"
                )
            return self.targets[0]
        if outcome.to not in self.targets:
            raise SagaDefinitionError(
                f"handler {self.handler.__name__} chose {outcome.to!r} for {self.on!r}; "
                f"declared targets are {self.targets}"
            )
        return outcome.to


@dataclass(frozen=True, slots=True)
class ParkRule:
    """Events `on` arriving in `states` that no transition accepts wait for a later state."""

    on: str
    states: tuple[str, ...]


def _names(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def transition(
    source: str | Iterable[str],
    on: str,
    target: str | Iterable[str],
    handler: Handler,
    *,
    guard: Guard | None = None,
) -> Transition:
    """Declare a transition (sources and targets may be one state name or several)."""
    return Transition(_names(source), on, _names(target), handler, guard)


def park(on: str, states: str | Iterable[str]) -> ParkRule:
    """Declare that `on` events may wait (be parked) while the saga is in `states`."""
    return ParkRule(on, _names(states))


@dataclass(frozen=True, slots=True)
class SagaDefinition:
    """A saga type: its states and the transitions between them, checked on construction."""

    name: str
    description: str
    starts_on: tuple[str, ...]
    states: tuple[str, ...]
    terminal: tuple[str, ...]
    transitions: tuple[Transition, ...]
    park_in: tuple[ParkRule, ...] = ()
    # Derived lookup tables, built once in __post_init__ so `step` does dict lookups only.
    _by_state_and_key: Mapping[tuple[str, str], tuple[Transition, ...]] = field(
        init=False, repr=False, compare=False
    )
    _parkable: frozenset[tuple[str, str]] = field(init=False, repr=False, compare=False)
    _consumed_keys: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._validate()
        index: dict[tuple[str, str], tuple[Transition, ...]] = {}
        for t in self.transitions:
            for source in t.sources:
                index[(source, t.on)] = (*index.get((source, t.on), ()), t)
        parkable = frozenset((s, rule.on) for rule in self.park_in for s in rule.states)
        # Frozen dataclass: the derived fields are set once here and never again.
        object.__setattr__(self, "_by_state_and_key", index)
        object.__setattr__(self, "_parkable", parkable)
        consumed = {t.on for t in self.transitions} | {rule.on for rule in self.park_in}
        object.__setattr__(self, "_consumed_keys", frozenset(consumed))

    def _validate(self) -> None:
        known = set(self.states)
        if PENDING not in known:
            raise SagaDefinitionError(f"{self.name}: states must include {PENDING!r}")
        for name in self.terminal:
            if name not in known:
                raise SagaDefinitionError(f"{self.name}: unknown terminal state {name!r}")
        for t in self.transitions:
            for name in (*t.sources, *t.targets):
                if name not in known:
                    raise SagaDefinitionError(
                        f"{self.name}: transition on {t.on!r} names unknown state {name!r}"
                    )
        for rule in self.park_in:
            for name in rule.states:
                if name not in known or name in self.terminal:
                    raise SagaDefinitionError(
                        f"{self.name}: cannot park {rule.on!r} in {name!r} "
                        "(unknown or terminal state)"
                    )
        starters = {t.on for t in self.transitions if PENDING in t.sources}
        missing = set(self.starts_on) - starters
        if missing:
            raise SagaDefinitionError(
                f"{self.name}: no transition out of {PENDING!r} on {sorted(missing)}"
            )

    def transitions_for(self, state: str, key: str) -> tuple[Transition, ...]:
        """Transitions declared out of `state` on `key` (in declaration order)."""
        return self._by_state_and_key.get((state, key), ())

    def may_park(self, state: str, key: str) -> bool:
        """Whether an event matching `key` may wait while the saga is in `state`.

        In "pending" (the saga has not seen its start event yet) every event it consumes may
        wait: a reply can overtake the event it answers.
        """
        if state == PENDING:
            return key in self._consumed_keys
        return (state, key) in self._parkable

    def is_terminal(self, state: str) -> bool:
        """Whether `state` ends the saga."""
        return state in self.terminal

    @property
    def consumed_event_types(self) -> frozenset[str]:
        """Every event type this saga reacts to (timer firings count as "timer-fired")."""
        return frozenset(
            TIMER_FIRED if k.startswith(TIMER_PREFIX) else k for k in self._consumed_keys
        )
