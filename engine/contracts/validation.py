"""Turning pydantic errors into messages that name the field but never echo its value.

Payloads carry customer names, tax ids and amounts; error messages end up in logs, DLQ
headers and CLI output, so they say *where* and *why*, not *what*.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from engine.contracts.types import PATTERN_WORDS

M = TypeVar("M", bound=BaseModel)


class ContractError(ValueError):
    """Data does not satisfy a contract; `problems` lists `(field path, reason)` pairs."""

    def __init__(self, message_type: str, problems: list[tuple[str, str]]) -> None:
        self.message_type = message_type
        self.problems = problems
        detail = "; ".join(f"{field}: {reason}" for field, reason in problems)
        super().__init__(f"invalid {message_type}: {detail}")


def field_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """`(dotted field path, message)` per error; model-level rules report `<record>` as path."""
    problems = []
    for err in exc.errors(include_input=False, include_url=False):
        path = ".".join(str(part) for part in err["loc"]) or "<record>"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "string_pattern_mismatch":
            msg = PATTERN_WORDS.get(str((err.get("ctx") or {}).get("pattern")), msg)
        problems.append((path, msg))
    return problems


def describe(exc: ValidationError) -> str:
    """One line naming every failing field and why, without any input value."""
    return "; ".join(f"{field}: {reason}" for field, reason in field_problems(exc))


def validate_as(model: type[M], data: Any, message_type: str) -> M:
    """`model.model_validate(data)`, raising `ContractError` (field names, no values)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ContractError(message_type, field_problems(exc)) from None
