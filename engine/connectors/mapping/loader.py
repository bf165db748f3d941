"""Reads mapping files (YAML) and reports every problem with its file, line and field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from engine.connectors.mapping.model import MappingFile
from engine.connectors.mapping.targets import check_targets

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class MappingProblem:
    """One problem of a mapping file: `<file>:<line>: <field>: <message>`."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field or '<file>'}: {self.message}"


class MappingError(ValueError):
    """A mapping file is invalid; `problems` has one entry per problem found."""

    message_is_safe = True

    def __init__(self, problems: list[MappingProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _line(node: yaml.Node | None, location: Location) -> int:
    """The 1-based line of the deepest YAML node on `location` that exists."""
    line = 1 if node is None else node.start_mark.line + 1
    for part in location:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == str(part)), None)
            key = next((k for k, v in node.value if k.value == str(part)), None)
            if found is None or key is None:
                return line
            line, node = key.start_mark.line + 1, found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _field(location: Location) -> str:
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pydantic_location(loc: tuple[Any, ...]) -> Location:
    # Tagged unions and validators add non-field entries (`function-after[...]`); drop them.
    return tuple(p for p in loc if isinstance(p, int) or (isinstance(p, str) and "[" not in p))


def parse_mapping(text: str, file: str) -> MappingFile:
    """The validated mapping in `text`; raises MappingError listing every problem."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise MappingError([MappingProblem(file, line, "", str(problem))]) from None
    if not isinstance(data, dict):
        raise MappingError([MappingProblem(file, 1, "", "a mapping file is a YAML mapping")])
    try:
        mapping = MappingFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_input=False, include_url=False):
            location = _pydantic_location(err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            problems.append(MappingProblem(file, _line(node, location), _field(location), message))
        raise MappingError(problems) from None
    target_problems = [
        MappingProblem(file, _line(node, location), _field(location), message)
        for location, message in check_targets(mapping)
    ]
    if target_problems:
        raise MappingError(target_problems)
    return mapping


def load_mapping(path: Path) -> MappingFile:
    """The validated mapping file at `path`; raises MappingError (also for an unreadable file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(
            [MappingProblem(str(path), 1, "", f"cannot read: {exc.strerror}")]
        ) from None
    return parse_mapping(text, str(path))
