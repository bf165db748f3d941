"""The mapping file model (pydantic): which native event means which canonical event, field by field.

A mapping file is YAML; see `engine/connectors/<platform>/mapping.yaml` for the shipped defaults
and the README section "Connecting your platforms" for the format. Validation here covers the
file's shape; `engine.connectors.mapping.targets` checks the canonical side.
"""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.connectors.mapping.paths import parse_path

ValueType = Literal[
    "any",
    "string",
    "decimal",
    "integer",
    "boolean",
    "date",
    "datetime",
    "unix_seconds",
    "unix_millis",
    "unix_date",
    "json",
    "minor_units",
]


class _Strict(BaseModel):
    # A misspelt key in a firm's mapping file must be an error, not an ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_path(path: str) -> str:
    parse_path(path)
    return path


class Condition(_Strict):
    """A test on one native field: exactly one of the operators."""

    path: str
    equals: Any = None
    not_equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    exists: bool | None = None
    contains: Any = None
    startswith: str | None = None

    _path = field_validator("path")(_check_path)

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        given = [
            name
            for name in ("equals", "not_equals", "in_", "exists", "contains", "startswith")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "a condition needs exactly one of equals, not_equals, in, exists, contains, "
                "startswith"
            )
        return self


class ValueSpec(_Strict):
    """Where a canonical value comes from: a native path (first present of several), a
    constant, or each element of an array (`as: json` when the array is JSON in a text
    field); then a value map, a conversion, a case. `if_present`: set only when that native
    path has a value (an optional record)."""

    path: str | list[str] | None = None
    const: Any = None
    as_: ValueType = Field(default="any", alias="as")
    currency: ValueSpec | None = None
    timezone: str | None = None
    map: dict[str, Any] | None = None
    case: Literal["upper", "lower"] | None = None
    default: Any = None
    optional: bool = False
    each: str | None = None
    fields: dict[str, ValueSpec] | None = None
    if_present: str | None = None

    @field_validator("path")
    @classmethod
    def _paths(cls, value: str | list[str] | None) -> str | list[str] | None:
        for p in [value] if isinstance(value, str) else value or []:
            _check_path(p)
        return value

    @field_validator("each", "if_present")
    @classmethod
    def _each(cls, value: str | None) -> str | None:
        return None if value is None else _check_path(value)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ValueSpec:
        sources = [n for n in ("path", "const", "each") if getattr(self, n) is not None]
        if len(sources) != 1:
            raise ValueError("a value needs exactly one of path, const, each")
        if (self.each is None) != (self.fields is None):
            raise ValueError("each and fields go together")
        if (self.as_ == "minor_units") != (self.currency is not None):
            raise ValueError("as: minor_units needs currency (and only it takes one)")
        return self

    @property
    def paths(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path or [])


class Rule(_Strict):
    """One native event kind -> one canonical event type (or a declared reason it cannot be).

    `match` says the rule is about this native event; `when` says it is relevant (a matched
    rule whose `when` fails produces nothing, e.g. an Opportunity update that is not a win).
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
    match: list[Condition] = Field(min_length=1)
    when: list[Condition] = Field(default_factory=list)
    unless: list[Condition] = Field(default_factory=list)
    emit: str | None = None
    for_each: str | None = None
    occurred_at: ValueSpec | None = None
    correlation_id: ValueSpec | None = None
    source_ids: dict[str, ValueSpec] = Field(default_factory=dict)
    fields: dict[str, ValueSpec] = Field(default_factory=dict)
    unmapped: str | None = None
    read_back: list[str] = Field(default_factory=list)

    _for_each = field_validator("for_each")(lambda v: None if v is None else _check_path(v))

    @model_validator(mode="after")
    def _one_outcome(self) -> Rule:
        outcomes = [self.emit is not None, self.unmapped is not None, bool(self.read_back)]
        if sum(outcomes) != 1:
            raise ValueError("a rule needs exactly one of emit, unmapped, read_back")
        if self.emit is None and self.fields:
            raise ValueError("fields only go with emit")
        return self


class MappingFile(_Strict):
    """A platform's mapping: the rules, tried in order, and the kinds it deliberately ignores."""

    platform: str = Field(pattern=r"^[a-z][a-z0-9]*$")
    source_system: str = Field(min_length=1)
    kind: str
    rules: list[Rule] = Field(min_length=1)
    ignore: list[Condition] = Field(default_factory=list)

    _kind = field_validator("kind")(_check_path)

    @model_validator(mode="after")
    def _unique_names(self) -> MappingFile:
        names = [r.name for r in self.rules]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"rule names must be unique: {', '.join(duplicates)}")
        return self
