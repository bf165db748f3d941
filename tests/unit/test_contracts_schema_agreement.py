"""One source of truth: every contract model and its Avro schema agree, walked both ways.

Each side is reduced independently to the same shape (field names in order, nullability,
types, decimal precision/scale, logical types, enum symbols, defaults, nested records), so a
field added, removed, renamed, retyped or made nullable on only one side fails here.
"""

from __future__ import annotations

import typing
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from types import UnionType
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from engine.codec import SchemaStore
from engine.codec.store import PRIMITIVES
from engine.contracts import (
    ALL_MODELS,
    AVRO_NAMESPACE,
    COMMAND_MODELS,
    EVENT_MODELS,
    MESSAGE_MODELS,
)
from engine.contracts.types import AvroDecimal

STORE = SchemaStore()
DEFS = STORE.current.definitions
NO_DEFAULT = "<required>"


def model_type(tp: Any, metadata: list[Any]) -> Any:
    """The shape of a Python annotation, in the vocabulary of `schema_type`."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return model_type(typing.get_args(tp)[0], [*metadata, *tp.__metadata__])
    if origin in (typing.Union, UnionType):
        branches = [a for a in typing.get_args(tp) if a is not type(None)]
        assert len(branches) == 1, f"only T | None unions are supported, got {tp}"
        return ("nullable", model_type(branches[0], metadata))
    if origin is tuple:
        return ("array", model_type(typing.get_args(tp)[0], []))
    if origin is dict:
        key, value = typing.get_args(tp)
        assert key is str, "Avro map keys are strings"
        return ("map", model_type(value, []))
    if tp is Decimal:
        (avro,) = [m for m in metadata if isinstance(m, AvroDecimal)]
        return ("decimal", avro.precision, avro.scale)
    if tp is date:
        return "date"
    if tp is datetime or getattr(tp, "__name__", "") == "AwareDatetime":
        return "timestamp-millis"
    if tp in (str, int, bool):
        return {str: "string", int: "int", bool: "boolean"}[tp]
    if isinstance(tp, type) and issubclass(tp, Enum):
        return ("enum", f"{AVRO_NAMESPACE}.{tp.__name__}", tuple(m.value for m in tp))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return ("record", tp.AVRO_NAME)  # type: ignore[attr-defined]
    raise AssertionError(f"annotation {tp!r} has no Avro equivalent")


def model_default(info: FieldInfo) -> Any:
    if info.is_required():
        return NO_DEFAULT
    value = info.get_default(call_default_factory=True)
    return value.value if isinstance(value, Enum) else value


def model_shape(model: type[BaseModel]) -> list[tuple[str, Any, Any]]:
    return [
        (name, model_type(info.annotation, list(info.metadata)), model_default(info))
        for name, info in model.model_fields.items()
    ]


def schema_type(schema: Any) -> Any:
    """The shape of an Avro type (flattened definitions: named types are references)."""
    if isinstance(schema, list):
        assert schema[0] == "null" and len(schema) == 2, f"only [null, T] unions: {schema}"
        return ("nullable", schema_type(schema[1]))
    if isinstance(schema, str) and schema not in PRIMITIVES:
        definition = DEFS[schema]
        if definition["type"] == "enum":
            return ("enum", schema, tuple(definition["symbols"]))
        return ("record", schema)
    if isinstance(schema, str):
        return {"string": "string", "int": "int", "boolean": "boolean"}.get(schema, schema)
    logical = schema.get("logicalType")
    if logical == "decimal":
        assert schema["type"] == "bytes"
        return ("decimal", schema["precision"], schema["scale"])
    if logical == "date":
        assert schema["type"] == "int"
        return "date"
    if logical == "timestamp-millis":
        assert schema["type"] == "long"
        return "timestamp-millis"
    if schema["type"] == "array":
        return ("array", schema_type(schema["items"]))
    if schema["type"] == "map":
        return ("map", schema_type(schema["values"]))
    return schema_type(schema["type"])


def schema_shape(name: str) -> list[tuple[str, Any, Any]]:
    return [
        (field["name"], schema_type(field["type"]), field.get("default", NO_DEFAULT))
        for field in DEFS[name]["fields"]
    ]


def test_every_model_has_a_schema_and_every_record_schema_a_model() -> None:
    records = {name for name, d in DEFS.items() if d["type"] == "record"}
    assert set(ALL_MODELS) == records


@pytest.mark.parametrize("name", sorted(ALL_MODELS))
def test_model_and_schema_agree(name: str) -> None:
    model, schema = model_shape(ALL_MODELS[name]), schema_shape(name)
    model_fields, schema_fields = [f[0] for f in model], [f[0] for f in schema]
    assert model_fields == schema_fields, "field names or order differ"
    for from_model, from_schema in zip(model, schema, strict=True):
        assert from_model == from_schema, f"{name}.{from_model[0]} differs"


def test_nested_types_are_walked_from_both_sides() -> None:
    # Every record referenced by a schema field is a model, and vice versa (no dangling refs).
    def referenced(shape: Any) -> set[str]:
        if isinstance(shape, tuple) and shape[0] == "record":
            return {shape[1]}
        if isinstance(shape, tuple):
            return set().union(*(referenced(part) for part in shape[1:]))
        return set()

    for name in ALL_MODELS:
        for _, shape, _ in schema_shape(name):
            assert referenced(shape) <= set(ALL_MODELS)
        for _, shape, _ in model_shape(ALL_MODELS[name]):
            assert referenced(shape) <= set(DEFS)


def test_envelope_and_header_come_first() -> None:
    for event in EVENT_MODELS.values():
        assert DEFS[event.AVRO_NAME]["fields"][0]["name"] == "envelope"
    for command in COMMAND_MODELS.values():
        assert DEFS[command.AVRO_NAME]["fields"][0]["name"] == "header"
    assert len(MESSAGE_MODELS) == len(EVENT_MODELS) + len(COMMAND_MODELS) + 1


def test_the_walkers_detect_a_disagreement() -> None:
    # Guard against a comparison that always passes: a drifted schema must differ.
    drifted = [*schema_shape("io.q2c.Account")]
    drifted[2] = (drifted[2][0], "string", NO_DEFAULT)  # parent_account_id made required
    assert drifted != model_shape(ALL_MODELS["io.q2c.Account"])
