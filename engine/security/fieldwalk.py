"""Visit and replace the values at a classified field's steps inside a decoded record (pure).

Paths are concrete, as an operator reads them: `contract.rate_card.rates[2].hourly_rate`.
Missing or null values are skipped (an absent optional field has nothing to protect).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.security.classification import Steps

Replace = Callable[[str, Any], Any]


def replace_at(record: Any, steps: Steps, fn: Replace, prefix: str = "") -> None:
    """Call `fn(concrete path, value)` for each value at `steps` and store what it returns.

    `record` itself is written to; the containers below it on the way are copied first, so
    values shared with the caller (a saga's data in the command it sends) are never changed."""
    if not steps or record is None:
        return
    step, rest = steps[0], steps[1:]
    if step == "[]":
        if isinstance(record, list):
            for i in range(len(record)):
                _step_into(record, i, rest, fn, f"{prefix}[{i}]")
    elif step == "{}":
        if isinstance(record, dict):
            for k in list(record):
                _step_into(record, k, rest, fn, f"{prefix}{{{k}}}")
    elif isinstance(record, dict) and step in record:
        _step_into(record, step, rest, fn, f"{prefix}.{step}" if prefix else step)


def _step_into(container: Any, key: Any, rest: Steps, fn: Replace, path: str) -> None:
    value = container[key]
    if value is None:
        return
    if rest:
        # Copies (tuples, as pydantic dumps tuple fields, become writable lists).
        if isinstance(value, list | tuple):
            value = container[key] = list(value)
        elif isinstance(value, dict):
            value = container[key] = dict(value)
        replace_at(value, rest, fn, path)
    else:
        container[key] = fn(path, value)


def placeholder(schema: Any, defs: dict[str, Any]) -> Any:
    """A value of `schema`'s type that carries no information (what keyless readers see)."""
    if isinstance(schema, str):
        if schema in defs:
            return placeholder(defs[schema], defs)
        return _PRIMITIVE_PLACEHOLDERS.get(schema)
    if isinstance(schema, list):
        return None if "null" in schema else placeholder(schema[0], defs)
    kind = schema["type"]
    if "logicalType" in schema and schema["logicalType"] == "decimal":
        return Decimal(0)
    if kind in ("record", "error"):
        return {f["name"]: placeholder(f["type"], defs) for f in schema["fields"]}
    if kind == "enum":
        return schema["symbols"][0]
    if kind == "array":
        return []
    if kind == "map":
        return {}
    if kind == "fixed":
        return bytes(schema["size"])
    return placeholder(kind, defs)


_PRIMITIVE_PLACEHOLDERS: dict[str, Any] = {
    "null": None,
    "boolean": False,
    "int": 0,
    "long": 0,
    "float": 0.0,
    "double": 0.0,
    "bytes": b"",
    "string": "",
}
