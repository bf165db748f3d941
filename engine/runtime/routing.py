"""Decides where a decoded event goes (pure): its saga here, the inbox, or a wait for correlation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.contracts import Event as EventModel


@dataclass(frozen=True, slots=True)
class Process:
    """The record is keyed by its saga key: apply it here."""

    saga_key: str


@dataclass(frozen=True, slots=True)
class Forward:
    """The saga key is known but the record sits on another key's partition: repartition it."""

    saga_key: str


@dataclass(frozen=True, slots=True)
class Wait:
    """Only a source id is known and the correlation index has no entry for it yet."""

    id_kind: str
    id_value: str


Route = Process | Forward | Wait
Lookup = Callable[[str, str], "str | None"]


def source_id(model: EventModel) -> tuple[str, str]:
    """(id kind, value) of the event's business key, e.g. ("project_id", "PRJ-7")."""
    value: object = model
    for part in model.KEY_FIELD.split("."):
        value = getattr(value, part)
    return model.KEY_FIELD.rsplit(".", 1)[-1], str(value)


def route(model: EventModel, record_key: bytes | None, lookup: Lookup) -> Route:
    """Where `model`, consumed with `record_key`, must be processed.

    The saga key is the envelope's correlation id when the adapter knew it, the deal id when the
    event carries one, else whatever the correlation index maps the source id to.
    """
    saga_key = model.envelope.correlation_id
    if not saga_key:
        kind, value = source_id(model)
        saga_key = value if kind == "deal_id" else lookup(kind, value)
        if saga_key is None:
            return Wait(kind, value)
    if record_key is not None and record_key == saga_key.encode():
        return Process(saga_key)
    return Forward(saga_key)
