"""Which fields of an Avro contract are classified, read from the `q2c.classification` attribute.

A field is classified in its schema file::

    {"name": "hourly_rate", "type": "io.q2c.Money", "q2c.classification": "confidential"}

`confidential` values travel sealed (AEAD); `tokenized` values (strings that must stay
joinable, such as a bank account id) travel as a deterministic token. The lookup is pure: it
walks a type's definitions once and yields every path to a classified field, through nested
records, arrays, maps and unions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from engine.codec.store import PRIMITIVES, Definitions

ATTRIBUTE = "q2c.classification"


class Classification(StrEnum):
    """How a classified field is protected on the wire."""

    CONFIDENTIAL = "confidential"  # sealed with AEAD, bound to topic, key and path
    TOKENIZED = "tokenized"  # deterministic AEAD token: joinable, not readable


# A step is a field name, "[]" (every array item) or "{}" (every map value).
Steps = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClassifiedField:
    """One classified field reachable from a type: its steps, class and Avro type."""

    steps: Steps
    classification: Classification
    schema: Any  # the field's type as written (may name other definitions)

    @property
    def name(self) -> str:
        """The dotted field path, e.g. `contract.rate_card.rates[].hourly_rate`."""
        out = ""
        for step in self.steps:
            out += step if step in ("[]", "{}") else (f".{step}" if out else step)
        return out


class ClassificationError(ValueError):
    """A schema names an unknown classification."""


def _parse(value: object, where: str) -> Classification:
    try:
        return Classification(str(value))
    except ValueError:
        known = ", ".join(c.value for c in Classification)
        raise ClassificationError(f"{where}: {ATTRIBUTE} {value!r} is not one of {known}") from None


def classified_fields(type_name: str, defs: Definitions) -> tuple[ClassifiedField, ...]:
    """Every classified field reachable from `type_name`, outermost first.

    A classified field's insides are not searched further: the whole value is protected.
    """
    return tuple(_walk(type_name, (), defs, frozenset()))


def _walk(
    schema: Any, steps: Steps, defs: Definitions, seen: frozenset[str]
) -> Iterator[ClassifiedField]:
    if isinstance(schema, str):
        if schema in PRIMITIVES or schema in seen or schema not in defs:
            return
        seen = seen | {schema}
        schema = defs[schema]
    if isinstance(schema, list):
        for branch in schema:
            yield from _walk(branch, steps, defs, seen)
        return
    kind = schema.get("type")
    if kind in ("record", "error"):
        for field in schema["fields"]:
            here = (*steps, field["name"])
            if ATTRIBUTE in field:
                where = f"{schema.get('name')}.{field['name']}"
                yield ClassifiedField(here, _parse(field[ATTRIBUTE], where), field["type"])
            else:
                yield from _walk(field["type"], here, defs, seen)
    elif kind == "array":
        yield from _walk(schema["items"], (*steps, "[]"), defs, seen)
    elif kind == "map":
        yield from _walk(schema["values"], (*steps, "{}"), defs, seen)
    elif isinstance(kind, (dict, list)) or (isinstance(kind, str) and kind in defs):
        yield from _walk(kind, steps, defs, seen)


def field_classifications(defs: Definitions) -> dict[tuple[str, str], Classification]:
    """`(record name, field name) -> classification` for every classified field in a release.

    The schema check compares these between releases: a field may gain a classification or
    become stricter, never lose one.
    """
    out: dict[tuple[str, str], Classification] = {}
    for name, definition in defs.items():
        for field in definition.get("fields", ()):
            if ATTRIBUTE in field:
                out[(name, field["name"])] = _parse(field[ATTRIBUTE], f"{name}.{field['name']}")
    return out
