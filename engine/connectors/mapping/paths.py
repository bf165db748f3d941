"""Field paths into native documents (pure): `a.b[0].c`, `list[key=Target].value`, `$item`.

Syntax: dot-separated keys; `[n]` picks the n-th element of a list; `[k=v]` picks the first
element of a list of objects whose `k` equals `v` (Dynamics `InputParameters`, Salesforce
Outbound Message fields); `$item` starts at the element a rule's `for_each` is on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]|\[([^=\[\]]+)=([^\]]*)\]")
ITEM = "$item"


class PathSyntaxError(ValueError):
    """A field path does not follow the syntax above."""


@dataclass(frozen=True)
class Step:
    key: str | None = None
    index: int | None = None
    match_key: str | None = None
    match_value: str | None = None


_MISSING = object()


def parse_path(path: str) -> tuple[Step, ...]:
    """The steps of `path`; raises PathSyntaxError naming the position of a bad character."""
    if not path or path.startswith(".") or path.endswith("."):
        raise PathSyntaxError(f"bad field path {path!r}")
    steps: list[Step] = []
    pos = 0
    while pos < len(path):
        if path[pos] == "." and steps:
            pos += 1
        m = _STEP.match(path, pos)
        if m is None:
            raise PathSyntaxError(f"bad field path {path!r} at character {pos + 1}")
        key, index, mk, mv = m.groups()
        if key is not None:
            steps.append(Step(key=key))
        elif index is not None:
            steps.append(Step(index=int(index)))
        else:
            steps.append(Step(match_key=mk, match_value=mv))
        pos = m.end()
    return tuple(steps)


def resolve(document: Any, path: str, item: Any = _MISSING) -> Any:
    """The value at `path`, or None when any step is absent (never raises on data)."""
    steps = parse_path(path)
    value: Any = document
    if steps and steps[0].key == ITEM:
        if item is _MISSING:
            return None
        value, steps = item, steps[1:]
    for step in steps:
        if step.key is not None:
            if not isinstance(value, Mapping):
                return None
            value = value.get(step.key)
        elif step.index is not None:
            if not isinstance(value, list) or step.index >= len(value):
                return None
            value = value[step.index]
        else:
            if not isinstance(value, list):
                return None
            value = next(
                (
                    e
                    for e in value
                    if isinstance(e, Mapping) and _text(e.get(step.match_key)) == step.match_value
                ),
                None,
            )
        if value is None:
            return None
    return value


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)
