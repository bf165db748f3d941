"""Runs event histories through the pure saga core alone: the crash-free reference result.

Routing, effect translation and account validation are the runtime's own functions, so the
reference differs from a live run only in having no Kafka in between.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from engine.contracts import Command, Event, ValidateAccount
from engine.masterdata.responder import reply_for
from engine.masterdata.table import MasterData
from engine.runtime.names import TopicNames
from engine.runtime.routing import Wait, implied_correlations, route
from engine.runtime.store import StoreKey
from engine.runtime.translate import command_record, to_saga_event
from engine.saga.engine import step
from engine.saga.model import Correlate, SagaCommand, SagaState
from engine.sagas import sagas_for_event

_NAMES = TopicNames()


@dataclass
class ReferenceRun:
    """Final states and every command (as contract models) of a broker-free run."""

    states: dict[StoreKey, SagaState] = field(default_factory=dict)
    commands: list[Command] = field(default_factory=list)
    correlation: dict[tuple[str, str], str] = field(default_factory=dict)


def run_reference(events: list[Event], master: list[Event], now: datetime) -> ReferenceRun:
    """Apply `events` in order (answering validate-account from `master`) until quiet."""
    data = MasterData()
    for record in master:
        data.apply(record)
    run = ReferenceRun()
    queue: deque[Event] = deque(events)
    waiting: list[Event] = []
    for _ in range(100 * (len(events) + 10)):  # bounded: each event is handled a few times
        if not queue:
            break
        model = queue.popleft()
        decision = route(model, None, lambda kind, value: run.correlation.get((kind, value)))
        if isinstance(decision, Wait):
            waiting.append(model)
            continue
        event = to_saga_event(model, decision.saga_key)
        for definition in sagas_for_event(event.event_type):
            key = (definition.name, event.saga_key)
            result = step(definition, run.states.get(key), event, now)
            run.states[key] = result.state
            for effect in result.effects:
                learned = (
                    [(effect.id_kind, effect.id_value)]
                    if isinstance(effect, Correlate)
                    else implied_correlations(effect)
                    if isinstance(effect, SagaCommand)
                    else []
                )
                for ids in learned:
                    run.correlation[ids] = event.saga_key
                    queue.extend(waiting)
                    waiting.clear()
                if isinstance(effect, SagaCommand):
                    run.commands.append(_as_model(effect, now))
                    if isinstance(run.commands[-1], ValidateAccount):
                        queue.append(reply_for(run.commands[-1], data, now))
    return run


def _as_model(cmd: SagaCommand, now: datetime) -> Command:
    """Through the runtime's own encoder, so a payload the contract refuses fails here too."""
    from engine.codec import decode

    record = command_record(cmd, _NAMES, now)
    model = decode(record.value, topic=record.topic, partition=0, offset=0)
    assert isinstance(model, Command)
    return model
