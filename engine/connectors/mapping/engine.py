"""The mapping engine (pure): one native event + its mapping -> canonical events or `Unmapped`.

`translate` never raises on data: a missing field, a value the value map does not know, a
number that is not a number, or a canonical rule the result breaks all come back as
`Unmapped(reason, field_path)`, naming the native field where one is to blame.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.connectors.dedupe import canonical_event_id
from engine.connectors.mapping.model import (
    TEMPLATE_FIELD,
    Condition,
    MappingFile,
    ReadBack,
    Rule,
    ValueSpec,
    on_item,
)
from engine.connectors.mapping.paths import resolve
from engine.connectors.mapping.values import (
    CONVERTERS,
    ValueProblem,
    from_minor_units,
    json_text,
    number_or_none,
    on_weekday,
    plus_days,
    to_integer,
    to_string,
)
from engine.connectors.protocol import NativeEvent, Unmapped
from engine.contracts.builders import event_from_dict
from engine.contracts.events import Event
from engine.contracts.validation import ContractError

Translation = list[Event] | Unmapped
_OMIT = object()
_NO_ITEM = object()
MAX_KIND_CHARS = 120
READBACK = "readback"
"""Where read-back results are in a document: `readback.<read-back name>`."""


class _Stop(Exception):
    def __init__(self, unmapped: Unmapped) -> None:
        self.unmapped = unmapped


def translate(native: NativeEvent, mapping: MappingFile, received_at: datetime) -> Translation:
    """The canonical events `native` means under `mapping`, or why it means none.

    An empty list is a recognised event that needs no canonical event (an ignored kind, an
    update that is not a win, q2c's own write echoed back); `Unmapped` is one that should
    have become an event and could not.
    """
    doc = native.document
    if any(_holds(c, doc) for c in mapping.ignore):
        return []
    matched = [rule for rule in mapping.rules if all(_holds(c, doc) for c in rule.match)]
    if not matched:
        kind = resolve(doc, mapping.kind)
        shown = "(none)" if kind is None else _short(kind)
        return Unmapped(f"no mapping rule for native event {shown}", mapping.kind)
    events: list[Event] = []
    try:
        for rule in matched:
            if not _applies(rule, doc, read_back=False):
                continue
            missing = missing_read_backs(rule, doc)
            if missing:
                described = ", ".join(r.describe() for r in missing)
                raise _Stop(Unmapped(f"needs read-back of {described}", rule.match[0].path))
            if _applies(rule, doc, read_back=True):
                events.extend(_apply(rule, native, mapping, received_at))
    except _Stop as stop:
        return stop.unmapped
    return events


def rules_to_read_back(native: NativeEvent, mapping: MappingFile) -> list[Rule]:
    """The rules that apply to `native` as far as its own fields tell and still lack their
    read-backs: what the translator must read from the platform before `translate`."""
    doc = native.document
    if any(_holds(c, doc) for c in mapping.ignore):
        return []
    return [
        rule
        for rule in mapping.rules
        if rule.read_back
        and all(_holds(c, doc) for c in rule.match)
        and _applies(rule, doc, read_back=False)
        and missing_read_backs(rule, doc)
    ]


def missing_read_backs(rule: Rule, doc: Mapping[str, Any]) -> list[ReadBack]:
    """The read-backs of `rule` whose result is not yet in `doc`."""
    done = doc.get(READBACK)
    done = done if isinstance(done, Mapping) else {}
    return [r for r in rule.read_back if r.name not in done]


def _applies(rule: Rule, doc: Any, *, read_back: bool) -> bool:
    """`when` and `unless` over the native fields (`read_back=False`) or over read-back
    results too: a condition on `readback.*` can only be judged once they are read. A
    condition on `$item` is judged per element (`_item_applies`)."""
    when = [c for c in rule.when if (read_back or not _on_read_back(c)) and not on_item(c.path)]
    unless = [c for c in rule.unless if (read_back or not _on_read_back(c)) and not on_item(c.path)]
    return all(_holds(c, doc) for c in when) and not any(_holds(c, doc) for c in unless)


def _item_applies(rule: Rule, doc: Any, item: Any) -> bool:
    when = [c for c in rule.when if on_item(c.path)]
    unless = [c for c in rule.unless if on_item(c.path)]
    return all(_holds(c, doc, item) for c in when) and not any(_holds(c, doc, item) for c in unless)


def _on_read_back(cond: Condition) -> bool:
    return cond.path == READBACK or cond.path.startswith(READBACK + ".")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else type(value).__name__
    return repr(text[:MAX_KIND_CHARS])


def _apply(
    rule: Rule, native: NativeEvent, mapping: MappingFile, received_at: datetime
) -> list[Event]:
    where = rule.match[0].path
    if rule.unmapped is not None:
        raise _Stop(Unmapped(rule.unmapped, where))
    assert rule.emit is not None  # the model allows exactly one outcome
    doc = native.document
    items: list[Any] = [_NO_ITEM]
    if isinstance(rule.for_each, dict):
        # One element per named field, absent ones left out; an element keeps its place in
        # the rule (its event id) whichever others are present.
        named = [{"key": k, "value": resolve(doc, p)} for k, p in rule.for_each.items()]
        items = [e if e["value"] is not None else _NO_ITEM for e in named]
    elif rule.for_each is not None:
        found = resolve(doc, rule.for_each)
        if not isinstance(found, list) or not found:
            raise _Stop(Unmapped("expected a non-empty list", rule.for_each))
        items = found
    return [
        _build(rule, rule.emit, native, mapping, received_at, item, index)
        for index, item in enumerate(items)
        if rule.for_each is None or (item is not _NO_ITEM and _item_applies(rule, doc, item))
    ]


def _build(
    rule: Rule,
    emit: str,
    native: NativeEvent,
    mapping: MappingFile,
    received_at: datetime,
    item: Any,
    index: int,
) -> Event:
    doc = native.document
    data = _fields(rule.fields, doc, item)
    occurred = received_at if rule.occurred_at is None else _value(rule.occurred_at, doc, item)
    if occurred is _OMIT:
        occurred = received_at
    envelope: dict[str, Any] = {
        "event_id": canonical_event_id(native.platform, native.delivery_id, rule.name, index),
        "occurred_at": occurred,
        "source_system": mapping.source_system,
        "source_ids": {"delivery_id": native.delivery_id},
    }
    for name, spec in rule.source_ids.items():
        value = _text_value(spec, doc, item)
        if value is not _OMIT:
            envelope["source_ids"][name] = value
    if rule.correlation_id is not None:
        value = _text_value(rule.correlation_id, doc, item)
        if value is not _OMIT:
            envelope["correlation_id"] = value
    data["envelope"] = envelope
    try:
        return event_from_dict(emit, data)
    except ContractError as exc:
        target, reason = exc.problems[0] if exc.problems else ("<record>", str(exc))
        raise _Stop(Unmapped(f"{emit}: {target}: {reason}", _native_path(rule, target))) from None


def _text_value(spec: ValueSpec, doc: Any, item: Any) -> Any:
    value = _value(spec, doc, item)
    if value is _OMIT:
        return value
    try:
        return to_string(value)
    except ValueProblem as problem:
        raise _Stop(Unmapped(str(problem), _where(spec))) from None


def _native_path(rule: Rule, target: str) -> str:
    """The native path behind a canonical field a contract rule rejected, else the target."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        spec = rule.fields.get(".".join(parts[:end]))
        if spec is not None:
            return _where(spec)
    # A rule on a record (`expense.amount must be positive`): the first field mapped inside it.
    inside = [spec for key, spec in rule.fields.items() if key.startswith(target + ".")]
    return _where(inside[0]) if inside and inside[0].paths else target


def _fields(specs: Mapping[str, ValueSpec], doc: Any, item: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for target, spec in specs.items():
        value = _value(spec, doc, item)
        if value is not _OMIT:
            _set(data, target, value, spec)
    return data


def _set(data: dict[str, Any], target: str, value: Any, spec: ValueSpec) -> None:
    *parents, last = target.split(".")
    node = data
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise _Stop(Unmapped(f"mapping sets {target} inside a plain value", target))
        node = child
    node[last] = value


def _where(spec: ValueSpec) -> str:
    return spec.each or (spec.paths[0] if spec.paths else "<const>")


def _value(spec: ValueSpec, doc: Any, item: Any) -> Any:
    """The converted value of `spec`, `_OMIT` for an absent optional one; `_Stop` otherwise."""
    if spec.if_present is not None and _resolve(doc, spec.if_present, item) is None:
        return _OMIT
    if spec.each is not None:
        elements = _resolve(doc, spec.each, item)
        if elements is None:
            return _missing(spec)
        if isinstance(elements, str) and spec.as_ == "json":
            try:
                elements = json_text(elements)
            except ValueProblem as problem:
                raise _Stop(Unmapped(str(problem), spec.each)) from None
        if not isinstance(elements, list):
            raise _Stop(Unmapped("expected a list", spec.each))
        assert spec.fields is not None  # the model pairs each with fields
        return [_fields(spec.fields, doc, element) for element in elements]
    if spec.const is not None:
        raw: Any = spec.const
    elif spec.template is not None:
        raw = _render(spec, doc, item)  # None when a placeholder is absent: default, optional
    else:
        raw = next(
            (v for p in spec.paths if (v := _resolve(doc, p, item)) is not None),
            None,
        )
    if raw is None:
        if spec.default is None:
            return _missing(spec)
        raw = spec.default
    if spec.map is not None:
        key = _text(raw)
        if key is None or key not in spec.map:
            raise _Stop(Unmapped("value not in the mapping's value map", _where(spec)))
        raw = spec.map[key]
    try:
        if spec.as_ == "minor_units":
            assert spec.currency is not None  # the model requires it for minor_units
            currency = _text_value(spec.currency, doc, item)
            if currency is _OMIT:
                raise _Stop(Unmapped("currency is missing", _where(spec.currency)))
            value = from_minor_units(raw, currency)
        else:
            value = CONVERTERS[spec.as_](raw, spec.timezone)
    except ValueProblem as problem:
        raise _Stop(Unmapped(str(problem), _where(spec))) from None
    if spec.weekday is not None or spec.add_days is not None:
        value = _moved_date(spec, value, doc, item)
    if isinstance(value, str) and spec.case is not None:
        value = value.upper() if spec.case == "upper" else value.lower()
    return value


def _render(spec: ValueSpec, doc: Any, item: Any) -> str | None:
    """A template's text with every `{path}` replaced, None when one of them is absent."""
    assert spec.template is not None
    parts: list[str] = []
    last = 0
    for found in TEMPLATE_FIELD.finditer(spec.template):
        value = _resolve(doc, found[1], item)
        if value is None:
            return None
        try:
            text = to_string(value)
        except ValueProblem as problem:
            raise _Stop(Unmapped(str(problem), found[1])) from None
        parts += [spec.template[last : found.start()], text]
        last = found.end()
    return "".join([*parts, spec.template[last:]])


def _moved_date(spec: ValueSpec, value: Any, doc: Any, item: Any) -> Any:
    """The date `value` moved to `spec.weekday` in its week, then by `spec.add_days`."""
    if spec.weekday is not None:
        day = _resolve(doc, spec.weekday, item)
        try:
            value = on_weekday(value, to_string(day) if day is not None else "")
        except ValueProblem as problem:
            raise _Stop(Unmapped(str(problem), spec.weekday)) from None
    if spec.add_days is not None:
        days = _value(spec.add_days, doc, item)
        if days is _OMIT:
            return value
        try:
            value = plus_days(value, to_integer(days))
        except ValueProblem as problem:
            raise _Stop(Unmapped(str(problem), _where(spec.add_days))) from None
    return value


def _resolve(doc: Any, path: str, item: Any) -> Any:
    return resolve(doc, path) if item is _NO_ITEM else resolve(doc, path, item)


def _missing(spec: ValueSpec) -> Any:
    if spec.optional:
        return _OMIT
    raise _Stop(Unmapped("required value is missing", _where(spec)))


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int):
        return str(value)
    if value is not None and not isinstance(value, dict | list):
        return str(value)
    return None


def _holds(cond: Condition, doc: Any, item: Any = _NO_ITEM) -> bool:
    value = _resolve(doc, cond.path, item)
    if cond.greater_than is not None:
        number = number_or_none(value)
        return number is not None and number > cond.greater_than
    if cond.exists is not None:
        return (value is not None) is cond.exists
    if cond.equals is not None:
        return value is not None and _text(value) == _text(cond.equals)
    if cond.not_equals is not None:
        return _text(value) != _text(cond.not_equals)
    if cond.in_ is not None:
        return value is not None and _text(value) in {_text(x) for x in cond.in_}
    if cond.contains is not None:
        wanted = _text(cond.contains)
        if isinstance(value, list):
            return any(_text(e) == wanted for e in value)
        return isinstance(value, str) and wanted is not None and wanted in value
    if cond.startswith is not None:
        return isinstance(value, str) and value.startswith(cond.startswith)
    return False
