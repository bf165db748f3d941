"""Saga effects -> output records, for the baselines that host the saga core outside the runtime.

Mirrors what the runtime's processor writes for a step (commands, implied correlations,
status changes, explicit correlations), so a baseline does the same output work per event.
"""

from __future__ import annotations

from datetime import datetime

from engine.kafka.records import OutRecord
from engine.runtime.correlation import index_key
from engine.runtime.names import TopicNames
from engine.runtime.routing import implied_correlations
from engine.runtime.translate import command_record, status_record
from engine.saga.model import Correlate, Effect, SagaCommand, StatusChange


def effect_records(
    effects: tuple[Effect, ...], names: TopicNames, saga_key: str, now: datetime
) -> list[OutRecord]:
    """The records the engine would produce for `effects` (timers stay in the state)."""
    out: list[OutRecord] = []
    for effect in effects:
        if isinstance(effect, SagaCommand):
            out.append(command_record(effect, names, now))
            out += [_correlate(names, k, v, saga_key) for k, v in implied_correlations(effect)]
        elif isinstance(effect, StatusChange):
            out.append(status_record(effect, names, now))
        elif isinstance(effect, Correlate):
            out.append(_correlate(names, effect.id_kind, effect.id_value, saga_key))
    return out


def _correlate(names: TopicNames, kind: str, value: str, saga_key: str) -> OutRecord:
    return OutRecord(
        topic=names.correlation, key=index_key(kind, value).encode(), value=saga_key.encode()
    )
