"""The pure saga interpreter: `step` folds one event into a saga instance's state.

No I/O and no clock: `now` is passed in (it stamps history records only), so the same inputs
always give the same `Decision`. Effects are returned for the runtime to carry out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.saga.definition import Context, SagaDefinition, Transition, event_key
from engine.saga.model import (
    PENDING,
    CancelTimer,
    Decision,
    Effect,
    HistoryRecord,
    SagaEvent,
    SagaState,
    SetTimer,
    StatusChange,
    Timer,
)
from engine.saga.payload import TIMER_FIRED, TimerFiring

# In-state history records a saga keeps (state changes are all kept): see `with_history`.
HISTORY_IN_STATE_LIMIT = 50
# Events one saga may hold parked. Every parked event is rewritten with the state at each
# commit and retried on each transition, so a flood of valid events for one key (or for a saga
# that never starts) would otherwise make every later event cost more; past the bound the
# event is refused and the runtime dead-letters it.
MAX_PARKED_EVENTS = 200


class ParkedLimit(Exception):
    """An event would be parked in a saga that already holds `MAX_PARKED_EVENTS`."""

    message_is_safe = True


def step(
    definition: SagaDefinition, state: SagaState | None, event: SagaEvent, now: datetime
) -> Decision:
    """Apply `event` to `state` (None: no instance yet) and return the new state and effects.

    - an event id already seen: the state unchanged and no effects;
    - an event some transition out of the current state accepts: applied, then parked events
      are retried in arrival order, repeatedly, until none applies;
    - an event not accepted now but allowed to wait in this state (a park rule, or any
      consumed event while "pending"): parked;
    - anything else: ignored, with a history note.

    Raises `ParkedLimit` when the event would be parked past `MAX_PARKED_EVENTS`.
    """
    if state is None:
        state = SagaState(saga_type=definition.name, saga_key=event.saga_key)
    elif event.event_id in state.seen:
        return Decision(state, ())
    state = state.evolve(seen=state.seen.add(event.event_id))
    effects: list[Effect] = []
    state = _receive(definition, state, event, now, effects)
    return Decision(state, tuple(effects))


def due_timers(state: SagaState, now: datetime) -> list[SagaEvent]:
    """ "timer-fired" events for the armed timers with fire_at <= now, earliest first.

    Event ids are deterministic, so asking twice before feeding them to `step` is harmless.
    """
    due = sorted(
        (timer.fire_at, timer_id, timer)
        for timer_id, timer in state.timers.items()
        if timer.fire_at <= now
    )
    return [
        SagaEvent(
            event_id=f"{state.saga_type}:{state.saga_key}:timer:{timer_id}",
            event_type=TIMER_FIRED,
            saga_key=state.saga_key,
            occurred_at=fire_at,
            payload=TimerFiring(timer_id, timer.name, timer.data),
        )
        for fire_at, timer_id, timer in due
    ]


def next_timer_at(state: SagaState) -> datetime | None:
    """When the earliest armed timer fires (None when none is armed): for a scheduler."""
    return min((timer.fire_at for timer in state.timers.values()), default=None)


def _receive(
    definition: SagaDefinition,
    state: SagaState,
    event: SagaEvent,
    now: datetime,
    effects: list[Effect],
) -> SagaState:
    key = event_key(event)
    if isinstance(event.payload, TimerFiring):
        timer_id = event.payload.timer_id
        if timer_id not in state.timers:
            return _note(state, event, now, "ignored: timer no longer armed")
        # A firing consumes its timer whatever happens to the event next.
        state = state.evolve(timers=_without(state.timers, timer_id))
    chosen = _match(definition, state, event, key)
    if chosen is not None:
        state = _apply(definition, state, event, chosen, now, effects)
        return _drain(definition, state, now, effects)
    if not definition.is_terminal(state.state) and definition.may_park(state.state, key):
        if len(state.parked) >= MAX_PARKED_EVENTS:
            raise ParkedLimit(
                f"{definition.name} {state.saga_key} already holds {len(state.parked)} parked "
                f"events in state {state.state!r} (limit {MAX_PARKED_EVENTS}); "
                f"{event.event_type} {event.event_id} refused"
            )
        return _note(state.evolve(parked=(*state.parked, event)), event, now, "parked")
    return _note(state, event, now, f"ignored: not accepted in state {state.state!r}")


def _context(state: SagaState, event: SagaEvent) -> Context[Any, Any]:
    return Context(state.saga_type, state.saga_key, state.state, state.data, event)


def _match(
    definition: SagaDefinition, state: SagaState, event: SagaEvent, key: str
) -> tuple[Transition, Context[Any, Any]] | None:
    candidates = definition.transitions_for(state.state, key)
    if not candidates:
        return None
    ctx = _context(state, event)
    for candidate in candidates:
        if candidate.guard is None or candidate.guard(ctx):
            return candidate, ctx
    return None


def _apply(
    definition: SagaDefinition,
    state: SagaState,
    event: SagaEvent,
    chosen: tuple[Transition, Context[Any, Any]],
    now: datetime,
    effects: list[Effect],
) -> SagaState:
    transition, ctx = chosen
    outcome = transition.handler(ctx)
    from_state, to_state = state.state, transition.resolve_target(outcome)
    if to_state != from_state or outcome.detail is not None:
        effects.append(
            StatusChange(
                saga_type=state.saga_type,
                saga_key=state.saga_key,
                # "pending" is the engine's placeholder, not a business state.
                from_state=None if from_state == PENDING else from_state,
                to_state=to_state,
                cause_event_id=event.event_id,
                cause_event_type=event.event_type,
                occurred_at=event.occurred_at,
                detail=outcome.detail,
            )
        )
    effects.extend(outcome.effects)
    timers = _apply_timer_effects(state.timers, outcome.effects)
    record = HistoryRecord(
        from_state, to_state, event.event_id, event.event_type, now, outcome.detail
    )
    state = state.evolve(
        state=to_state,
        data={**state.data, **outcome.data} if outcome.data else state.data,
        timers=timers,
        history=with_history(state.history, record),
        version=state.version + 1,
    )
    if definition.is_terminal(to_state) and not definition.is_terminal(from_state):
        state = _finish(state, event, now, effects)
    return state


def _finish(state: SagaState, event: SagaEvent, now: datetime, effects: list[Effect]) -> SagaState:
    """Entering a terminal state: disarm every timer and drop every parked event (noted)."""
    effects.extend(CancelTimer(timer_id) for timer_id in sorted(state.timers))
    notes = tuple(
        HistoryRecord(
            state.state,
            state.state,
            parked.event_id,
            parked.event_type,
            now,
            f"discarded: parked event never applied before {state.state!r}",
        )
        for parked in state.parked
    )
    return state.evolve(timers={}, parked=(), history=with_history(state.history, *notes))


def _drain(
    definition: SagaDefinition, state: SagaState, now: datetime, effects: list[Effect]
) -> SagaState:
    """Apply parked events that became acceptable, oldest first, until none applies."""
    progressed = True
    while progressed and state.parked:
        progressed = False
        for index, parked in enumerate(state.parked):
            chosen = _match(definition, state, parked, event_key(parked))
            if chosen is not None:
                remaining = state.parked[:index] + state.parked[index + 1 :]
                state = _apply(
                    definition, state.evolve(parked=remaining), parked, chosen, now, effects
                )
                progressed = True
                break
    # Events that can neither apply nor wait any more in the new state would wait forever.
    stale = [p for p in state.parked if not definition.may_park(state.state, event_key(p))]
    for parked in stale:
        state = _note(
            state.evolve(parked=tuple(p for p in state.parked if p is not parked)),
            parked,
            now,
            f"discarded: parked event no longer acceptable in state {state.state!r}",
        )
    return state


def _note(state: SagaState, event: SagaEvent, now: datetime, note: str) -> SagaState:
    record = HistoryRecord(state.state, state.state, event.event_id, event.event_type, now, note)
    return state.evolve(history=with_history(state.history, record), version=state.version + 1)


def with_history(
    history: tuple[HistoryRecord, ...], *records: HistoryRecord
) -> tuple[HistoryRecord, ...]:
    """`history` plus `records`: every state change, and the latest in-state records only.

    In-state records (events applied without a state change, notes) grow with a long-lived
    saga's traffic, a time-and-materials project's every time entry, while the whole history is
    written to the changelog at each commit. State changes are few and tell the saga's story:
    when it started, when it entered its current state, which stages it reached. A dropped
    record's event stays on its input topic (and on the status stream when it had a detail).
    """
    combined = (*history, *records)
    excess = sum(1 for r in combined if r.from_state == r.to_state) - HISTORY_IN_STATE_LIMIT
    if excess <= 0:
        return combined
    kept: list[HistoryRecord] = []
    for record in combined:
        if excess and record.from_state == record.to_state:
            excess -= 1
            continue
        kept.append(record)
    return tuple(kept)


def _without(timers: Mapping[str, Timer], timer_id: str) -> dict[str, Timer]:
    return {k: v for k, v in timers.items() if k != timer_id}


def _apply_timer_effects(
    timers: Mapping[str, Timer], effects: tuple[Effect, ...]
) -> Mapping[str, Timer]:
    """The timers after the handler's SetTimer/CancelTimer effects (shared when none)."""
    changed: dict[str, Timer] | None = None
    for effect in effects:
        if isinstance(effect, SetTimer):
            changed = dict(timers) if changed is None else changed
            changed[effect.timer_id] = Timer(effect.name, effect.fire_at, effect.data)
        elif isinstance(effect, CancelTimer):
            changed = dict(timers) if changed is None else changed
            changed.pop(effect.timer_id, None)
    return timers if changed is None else changed
