"""Decides where a decoded event goes (pure): its saga here, the inbox, or a wait for correlation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.contracts import Event
from engine.saga.model import SagaCommand
from engine.sagas import correlation_ids


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


def source_id(model: Event) -> tuple[str, str]:
    """(id kind, value) of the event's business key, e.g. ("project_id", "PRJ-7")."""
    value: object = model
    for part in model.KEY_FIELD.split("."):
        value = getattr(value, part)
    return model.KEY_FIELD.rsplit(".", 1)[-1], str(value)


def lookup_ids(model: Event) -> list[tuple[str, str]]:
    """Ids to look the saga key up by, best first: those the sagas declare for this event type
    (e.g. the invoice reference a saga gave billing), then its own business key."""
    return [*correlation_ids(model), source_id(model)]


def implied_correlations(command: SagaCommand) -> list[tuple[str, str]]:
    """Ids a command hands to another system that its replies will quote back."""
    reference = command.payload.get("invoice_reference")
    return [("invoice_reference", str(reference))] if reference else []


def route(model: Event, record_key: bytes | None, lookup: Lookup) -> Route:
    """Where `model`, consumed with `record_key`, must be processed.

    The saga key is the envelope's correlation id when the adapter knew it, the deal id when the
    event carries one, else whatever the correlation index maps the source id to.
    """
    saga_key = model.envelope.correlation_id
    if not saga_key:
        candidates = lookup_ids(model)
        for kind, value in candidates:
            saga_key = value if kind == "deal_id" else lookup(kind, value)
            if saga_key is not None:
                break
        else:
            return Wait(*candidates[0])
    if record_key is not None and record_key == saga_key.encode():
        return Process(saga_key)
    return Forward(saga_key)
