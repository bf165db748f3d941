"""Checks a mapping's canonical side against the contract models (pure): every target field
exists, every required field is set, every emitted event type is known."""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from engine.connectors.mapping.model import MappingFile, ValueSpec
from engine.contracts.base import Record
from engine.contracts.registry import EVENT_MODELS

Problem = tuple[tuple[str | int, ...], str]
"""(location inside the mapping file, message)."""


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the record/value type under Optional/Annotated/tuple[...], whether it is a list)."""
    is_list = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        elif origin in (tuple, list):
            annotation, is_list = get_args(annotation)[0], True
        else:
            return annotation, is_list


def _is_record(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def check_targets(mapping: MappingFile) -> list[Problem]:
    """Every problem of the mapping's canonical side, with where it is in the file."""
    problems: list[Problem] = []
    for i, rule in enumerate(mapping.rules):
        if rule.emit is None:
            continue
        model = EVENT_MODELS.get(rule.emit)
        if model is None:
            known = ", ".join(sorted(EVENT_MODELS))
            problems.append(
                (("rules", i, "emit"), f"unknown canonical event {rule.emit!r}; known: {known}")
            )
            continue
        problems.extend(_check(model, rule.fields, ("rules", i, "fields"), "", skip={"envelope"}))
    return problems


def _check(
    model: type[Record] | type[BaseModel],
    specs: Mapping[str, ValueSpec],
    where: tuple[str | int, ...],
    prefix: str,
    skip: set[str] | None = None,
) -> list[Problem]:
    problems: list[Problem] = []
    for target, spec in specs.items():
        problems.extend(_check_target(model, target, spec, (*where, target), prefix))
    problems.extend(_missing(model, list(specs), where, prefix, skip or set()))
    return problems


def _check_target(
    model: type[BaseModel], target: str, spec: ValueSpec, where: tuple[str | int, ...], prefix: str
) -> list[Problem]:
    current: Any = model
    is_list = False
    for part in target.split("."):
        if not _is_record(current) or is_list:
            return [(where, f"{prefix}{target}: {part!r} is inside a value that has no fields")]
        field = current.model_fields.get(part)
        if field is None or part == "envelope":
            known = ", ".join(n for n in current.model_fields if n != "envelope")
            return [(where, f"unknown canonical field {prefix}{target} (known here: {known})")]
        current, is_list = _unwrap(field.annotation)
    if spec.each is not None:
        if not (is_list and _is_record(current)):
            return [(where, f"{prefix}{target} is not a list of records; each does not apply")]
        assert spec.fields is not None
        return _check(current, spec.fields, (*where, "fields"), f"{prefix}{target}[].")
    if _is_record(current) and not is_list:
        return [(where, f"{prefix}{target} is a record: map its fields ({target}.<field>)")]
    if _is_record(current):
        return [(where, f"{prefix}{target} is a list of records: map it with each and fields")]
    return []


def _missing(
    model: type[BaseModel],
    targets: list[str],
    where: tuple[str | int, ...],
    prefix: str,
    skip: set[str],
) -> list[Problem]:
    problems: list[Problem] = []
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        inner = [t[len(name) + 1 :] for t in targets if t.startswith(name + ".")]
        if name in targets:
            continue
        if inner:
            nested, is_list = _unwrap(field.annotation)
            if _is_record(nested) and not is_list:
                problems.extend(_missing(nested, inner, where, f"{prefix}{name}.", set()))
            continue
        if field.is_required():
            problems.append((where, f"missing required canonical field {prefix}{name}"))
    return problems
