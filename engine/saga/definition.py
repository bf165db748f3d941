"""Declarative saga definitions: states, transitions and park rules declared as data.

A definition reads like a table, written against the contract classes::

    SagaDefinition(
        name="deal",
        description="...",
        starts_on=(ClosedWon,),
        states=("pending", "validating", ...),
        terminal=("completed", "cancelled"),
        transitions=(
            transition("pending", ClosedWon, "validating", begin_validation),
            transition("active", PaymentReceived, ("active", "completed"),
                       record_payment, guard=invoice_known),
            transition("awaiting_activation", timer("activation-sla"), "awaiting_activation",
                       escalate_sla),
        ),
        park_in=(park(MilestoneCompleted, PRE_ACTIVE),),
    )

`on` is an event contract class, or `timer(name)` for a timer firing with that name. Handlers
are small plain functions `Context[E, D] -> Outcome` and guards `Context[E, D] -> bool`, where
`E` is the contract class they are registered for (mypy refuses a handler declared for another
event) and `D` the saga's data TypedDict. Commands are sent by contract class (`ctx.send(IssueInvoice, step=..., ...)`), which names
their type and target system. Every new saga starts in the placeholder state "pending";
`starts_on` names the events that leave it.

A definition is checked when it is built, so a broken one fails at import with a message naming
the saga, the state and the event: every `on` is an event of the contracts, every state is
reachable from "pending", no non-terminal state is a trap (nothing leaves it) and every one can
reach a terminal state, and every state a park rule names exists and is not terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Generic, TypeVar, cast, overload

from engine.contracts.commands import Command
from engine.contracts.events import Event
from engine.contracts.registry import EVENT_MODELS
from engine.saga.model import PENDING, Effect, SagaCommand, SagaEvent
from engine.saga.payload import TIMER_FIRED, TimerFiring

TIMER_PREFIX = "timer:"


class SagaDefinitionError(ValueError):
    """A definition is inconsistent, or a handler broke its declaration."""


def event_key(event: SagaEvent) -> str:
    """The `on` key an event matches: its type, or "timer:<name>" for a timer firing."""
    if event.event_type == TIMER_FIRED:
        assert isinstance(event.payload, TimerFiring)
        return f"{TIMER_PREFIX}{event.payload.name}"
    return event.event_type


@dataclass(frozen=True, slots=True)
class TimerOn:
    """`on` for a timer firing with this name (see `timer`)."""

    name: str


def timer(name: str) -> TimerOn:
    """`on` for the firing of timers armed with `SetTimer(..., name=name, ...)`."""
    return TimerOn(name)


On = type[Event] | TimerOn
# Covariant: a handler for `Context[A | B, D]` may be registered for A and for B, and a helper
# taking `Context[object, Mapping[str, Any]]` accepts every handler's context.
E_co = TypeVar("E_co", covariant=True)
D_co = TypeVar("D_co", covariant=True, bound=Mapping[str, Any])
E = TypeVar("E", bound=Event)
D = TypeVar("D", bound=Mapping[str, Any])


def on_key(on: On) -> str:
    """The key `on` matches in `event_key`: the event type, or "timer:<name>"."""
    if isinstance(on, TimerOn):
        return f"{TIMER_PREFIX}{on.name}"
    return on.EVENT_TYPE


@dataclass(frozen=True, slots=True)
class Context(Generic[E_co, D_co]):
    """What a guard or handler sees: the saga instance's current state and the event.

    `E_co` is the contract class of the event the handler is registered for; it ties the
    handler to its transition for mypy, and `payload` is that contract's model, so mypy checks
    the fields a handler reads. `D_co` is the saga's data: a TypedDict each saga declares, so
    mypy checks the keys a handler reads (at run time it is the plain dict the state codec
    reads and writes; store parts of the payload in it through `engine.saga.values.plain`).
    """

    saga_type: str
    saga_key: str
    state: str
    data: D_co
    event: SagaEvent

    @property
    def payload(self) -> E_co:
        """The event's contract model (a `TimerFiring` for a timer firing).

        Read the event's id and time from `event`: a parked event restored from the state
        changelog has an envelope rebuilt from those alone.
        """
        return cast(E_co, self.event.payload)

    def send(self, command: type[Command], /, step: str, **payload: Any) -> SagaCommand:
        """`command` (a contract class: its type and target system come from the class) caused
        by this event, with idempotency key "<saga_key>:<step>" and `payload` as its fields
        after the header. Field names are checked against the contract here, so a misspelt or
        missing field names the command and the field instead of failing at encoding."""
        allowed, required = _payload_fields(command)
        names = payload.keys()
        if not names <= allowed or not required <= names:
            unknown, missing = sorted(names - allowed), sorted(required - names)
            raise SagaDefinitionError(
                f"{self.saga_type}: {command.COMMAND_TYPE} in state {self.state!r} on "
                f"{self.event.event_type!r}: unknown fields {unknown}, missing fields {missing}"
            )
        return SagaCommand(
            command_type=command.COMMAND_TYPE,
            target_system=command.TARGET,
            idempotency_key=f"{self.saga_key}:{step}",
            saga_key=self.saga_key,
            causation_id=self.event.event_id,
            payload=payload,
        )


@cache
def _payload_fields(command: type[Command]) -> tuple[frozenset[str], frozenset[str]]:
    """(every field, required fields) of a command contract, header excepted."""
    fields = {name: info for name, info in command.model_fields.items() if name != "header"}
    required = frozenset(name for name, info in fields.items() if info.is_required())
    return frozenset(fields), required


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


Guard = Callable[[Context[Any, Any]], bool]
Handler = Callable[[Context[Any, Any]], Outcome]


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


@overload
def transition(
    source: str | Iterable[str],
    on: type[E],
    target: str | Iterable[str],
    handler: Callable[[Context[E, D]], Outcome],
    *,
    guard: Callable[[Context[E, D]], bool] | None = None,
) -> Transition: ...


@overload
def transition(
    source: str | Iterable[str],
    on: TimerOn,
    target: str | Iterable[str],
    handler: Callable[[Context[TimerFiring, D]], Outcome],
    *,
    guard: Callable[[Context[TimerFiring, D]], bool] | None = None,
) -> Transition: ...


def transition(
    source: str | Iterable[str],
    on: On,
    target: str | Iterable[str],
    handler: Handler,
    *,
    guard: Guard | None = None,
) -> Transition:
    """Declare a transition (sources and targets may be one state name or several)."""
    return Transition(_names(source), on_key(on), _names(target), handler, guard)


def park(on: On, states: str | Iterable[str]) -> ParkRule:
    """Declare that `on` events may wait (be parked) while the saga is in `states`."""
    return ParkRule(on_key(on), _names(states))


@dataclass(frozen=True, slots=True)
class SagaDefinition:
    """A saga type: its states and the transitions between them, checked on construction."""

    name: str
    description: str
    starts_on: tuple[type[Event], ...]
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
            _check_contract_event(self.name, f"transition from {t.sources[0]!r}", t.on)
        for rule in self.park_in:
            _check_contract_event(self.name, f"park rule in {rule.states}", rule.on)
            for name in rule.states:
                if name not in known or name in self.terminal:
                    raise SagaDefinitionError(
                        f"{self.name}: cannot park {rule.on!r} in {name!r} "
                        "(unknown or terminal state)"
                    )
        starters = {t.on for t in self.transitions if PENDING in t.sources}
        missing = {on_key(on) for on in self.starts_on} - starters
        if missing:
            raise SagaDefinitionError(
                f"{self.name}: no transition out of {PENDING!r} on {sorted(missing)}"
            )
        self._validate_graph()

    def _validate_graph(self) -> None:
        """Every state reachable from "pending"; no trap; a terminal reachable from each."""
        edges: dict[str, set[str]] = {s: set() for s in self.states}
        events_out: dict[str, list[str]] = {s: [] for s in self.states}
        for t in self.transitions:
            for source in t.sources:
                edges[source].update(t.targets)
                events_out[source].append(t.on)
        reachable = _closure({PENDING}, edges)
        for name in self.states:
            if name not in reachable:
                raise SagaDefinitionError(
                    f"{self.name}: state {name!r} is unreachable from {PENDING!r} "
                    "(no transition leads to it)"
                )
        reverse: dict[str, set[str]] = {s: set() for s in self.states}
        for source, targets in edges.items():
            for target in targets:
                reverse[target].add(source)
        ending = _closure(set(self.terminal), reverse)
        for name in self.states:
            if name in self.terminal:
                continue
            if not edges[name] - {name}:
                on = f" (only {sorted(set(events_out[name]))} loop on it)" if edges[name] else ""
                raise SagaDefinitionError(
                    f"{self.name}: state {name!r} is a trap: not terminal and no transition "
                    f"leaves it{on}"
                )
            if name not in ending:
                raise SagaDefinitionError(
                    f"{self.name}: state {name!r} cannot reach a terminal state {self.terminal} "
                    f"(its transitions on {sorted(set(events_out[name]))} lead to "
                    f"{sorted(edges[name])})"
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


def _check_contract_event(saga: str, where: str, key: str) -> None:
    if not key.startswith(TIMER_PREFIX) and key not in EVENT_MODELS:
        raise SagaDefinitionError(f"{saga}: {where} on {key!r}: no such event in the contracts")


def _closure(start: set[str], edges: Mapping[str, set[str]]) -> set[str]:
    """Every state reachable from `start` along `edges` (start included)."""
    seen, todo = set(start), list(start)
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
