"""JSON-shaped values: what saga data, command payloads and the state changelog hold."""

from __future__ import annotations

from enum import Enum
from typing import Any


def plain(value: Any) -> Any:
    """`value` as JSON-shaped data: models to dicts, tuples to lists, enums to their values.

    Decimal/date/datetime stay as they are (the state codec tags them). A handler stores a part
    of its contract event in the saga's data through this, so the data equals what the state
    codec gives back after a round trip and a restored saga behaves as the live one did.
    """
    if hasattr(value, "model_dump"):
        return plain(value.model_dump(mode="python"))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value
