"""The mapping file model (pydantic): which native event means which canonical event, field by field.

A mapping file is YAML; see `engine/connectors/<platform>/mapping.yaml` for the shipped defaults
and the README section "Connecting your platforms" for the format. Validation here covers the
file's shape; `engine.connectors.mapping.targets` checks the canonical side.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.connectors.mapping.paths import ITEM, parse_path

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


API_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_./;=]*")
"""An object, entity set or field name of a platform API (it goes into URLs and queries)."""


def _api_name(name: str) -> str:
    if not API_NAME.fullmatch(name):
        raise ValueError(f"not an API name: {name!r}")
    return name


def _check_path(path: str) -> str:
    parse_path(path)
    return path


TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")
"""A `{path}` placeholder of a `template` value."""


def template_paths(template: str) -> list[str]:
    """The native paths a template's placeholders name, in order."""
    return TEMPLATE_FIELD.findall(template)


def on_item(path: str) -> bool:
    """Whether `path` starts at the element a rule's `for_each` is on."""
    return path == ITEM or path.startswith((ITEM + ".", ITEM + "["))


class Condition(_Strict):
    """A test on one native field: exactly one of the operators."""

    path: str
    equals: Any = None
    not_equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    exists: bool | None = None
    contains: Any = None
    startswith: str | None = None
    greater_than: Decimal | None = None

    _path = field_validator("path")(_check_path)

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        given = [
            name
            for name in (
                "equals",
                "not_equals",
                "in_",
                "exists",
                "contains",
                "startswith",
                "greater_than",
            )
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "a condition needs exactly one of equals, not_equals, in, exists, contains, "
                "startswith, greater_than"
            )
        return self


class ValueSpec(_Strict):
    """Where a canonical value comes from: a native path (first present of several), a
    constant, a `template` of text with `{path}` placeholders, or each element of an array
    (`as: json` when the array is JSON in a text field); then a value map, a conversion, a
    case. `if_present`: set only when that native path has a value (an optional record).
    Dates (`as: date`) can be moved: `weekday` (a path naming a day, `monday`...) gives the
    date of that weekday in the seven days starting at the value (a timecard week's day),
    `add_days` adds a whole number of days (payment terms)."""

    path: str | list[str] | None = None
    const: Any = None
    template: str | None = None
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
    weekday: str | None = None
    add_days: ValueSpec | None = None

    @field_validator("path")
    @classmethod
    def _paths(cls, value: str | list[str] | None) -> str | list[str] | None:
        for p in [value] if isinstance(value, str) else value or []:
            _check_path(p)
        return value

    @field_validator("each", "if_present", "weekday")
    @classmethod
    def _each(cls, value: str | None) -> str | None:
        return None if value is None else _check_path(value)

    @field_validator("template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None:
            placeholders = template_paths(value)
            if not placeholders:
                raise ValueError("a template needs at least one {path} placeholder")
            for path in placeholders:
                _check_path(path)
        return value

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
        sources = [n for n in ("path", "const", "template", "each") if getattr(self, n) is not None]
        if len(sources) != 1:
            raise ValueError("a value needs exactly one of path, const, template, each")
        if (self.each is None) != (self.fields is None):
            raise ValueError("each and fields go together")
        if (self.as_ == "minor_units") != (self.currency is not None):
            raise ValueError("as: minor_units needs currency (and only it takes one)")
        if (self.weekday is not None or self.add_days is not None) and self.as_ != "date":
            raise ValueError("weekday and add_days go with as: date")
        return self

    @property
    def paths(self) -> list[str]:
        """The native paths the value is read from (a template's placeholders)."""
        if self.template is not None:
            return template_paths(self.template)
        return [self.path] if isinstance(self.path, str) else list(self.path or [])


class ReadBack(_Strict):
    """One record (`id`) or list of records (`where`) to read from the platform before the
    rule applies; the result is at `readback.<name>` in the document the rule reads.

    Paths may name earlier read-backs (`readback.opportunity.AccountId`); a list of paths means
    the first one present (one read-back serving two native formats). `version` names the
    native field that identifies the record version (a CDC commit, an event time): the result
    is cached under it, so redeliveries and replays of that version read nothing again.
    """

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    object: str = Field(min_length=1, description="sObject, entity set or resource path")
    id: str | list[str] | None = None
    where: dict[str, str | list[str]] | None = None
    fields: list[str] = Field(min_length=1)
    version: str | list[str] | None = None

    @field_validator("id", "version")
    @classmethod
    def _paths(cls, value: str | list[str] | None) -> str | list[str] | None:
        for path in [value] if isinstance(value, str) else value or []:
            _check_path(path)
        return value

    @field_validator("where")
    @classmethod
    def _where(cls, value: dict[str, str | list[str]] | None) -> dict[str, str | list[str]] | None:
        for name, paths in (value or {}).items():
            _api_name(name)
            for path in [paths] if isinstance(paths, str) else paths:
                _check_path(path)
        return value

    @field_validator("object")
    @classmethod
    def _object(cls, value: str) -> str:
        return _api_name(value)

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
        return [_api_name(v) for v in value]

    @model_validator(mode="after")
    def _one_key(self) -> ReadBack:
        if (self.id is None) == (not self.where):
            raise ValueError("a read-back needs exactly one of id, where")
        keys = [self.id, self.version, *(self.where or {}).values()]
        paths = [p for k in keys for p in ([k] if isinstance(k, str) else k or [])]
        if any(on_item(p) for p in paths):
            # A read-back is of the event's record, read once before the rule's elements.
            raise ValueError("a read-back cannot read $item (it is read once per event)")
        return self

    def describe(self) -> str:
        """`Object(field, ...)`: what this read-back fetches, for a dead letter."""
        return f"{self.object}({', '.join(self.fields)})"


class Rule(_Strict):
    """One native event kind -> one canonical event type (or a declared reason it cannot be).

    `match` says the rule is about this native event; `when` says it is relevant (a matched
    rule whose `when` fails produces nothing, e.g. an Opportunity update that is not a win).
    `for_each` makes one event per element: of the list at a path, or, given as
    `{key: path, ...}`, of those fields that are present (`$item.key`, `$item.value`: a
    timecard's `pse__Monday_Hours__c`...). `when`/`unless` conditions on `$item` are judged
    per element: an element that fails them makes no event.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
    match: list[Condition] = Field(min_length=1)
    when: list[Condition] = Field(default_factory=list)
    unless: list[Condition] = Field(default_factory=list)
    emit: str | None = None
    for_each: str | dict[str, str] | None = None
    occurred_at: ValueSpec | None = None
    correlation_id: ValueSpec | None = None
    source_ids: dict[str, ValueSpec] = Field(default_factory=dict)
    fields: dict[str, ValueSpec] = Field(default_factory=dict)
    unmapped: str | None = None
    read_back: list[ReadBack] = Field(default_factory=list)

    @field_validator("for_each")
    @classmethod
    def _for_each(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        for path in [value] if isinstance(value, str) else (value or {}).values():
            _check_path(path)
        if isinstance(value, dict) and not value:
            raise ValueError("for_each needs at least one field")
        return value

    @model_validator(mode="after")
    def _one_outcome(self) -> Rule:
        if (self.emit is None) == (self.unmapped is None):
            raise ValueError("a rule needs exactly one of emit, unmapped")
        if self.emit is None and (self.fields or self.read_back):
            raise ValueError("fields and read_back only go with emit")
        if self.for_each is None and any(on_item(c.path) for c in [*self.when, *self.unless]):
            raise ValueError("a condition on $item needs for_each")
        names = [r.name for r in self.read_back]
        if len(set(names)) != len(names):
            raise ValueError("read-back names must be unique in a rule")
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
