"""The mapping engine and its file checks, rule by rule (no platform specifics)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.connectors.mapping import MappingError, parse_mapping, translate
from engine.connectors.mapping.engine import rules_to_read_back
from engine.connectors.mapping.paths import PathSyntaxError, parse_path, resolve
from engine.connectors.mapping.values import (
    ValueProblem,
    from_minor_units,
    on_weekday,
    plus_days,
    to_date,
    to_datetime,
    unix_date,
)
from engine.connectors.protocol import NativeEvent, Unmapped
from engine.contracts import DealCancelled, ExpenseApproved

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

HEAD = """
platform: test
source_system: test
kind: kind
"""


def _mapping(rules: str, extra: str = "") -> Any:
    return parse_mapping(HEAD + extra + "rules:\n" + rules, "test.yaml")


def _native(doc: dict[str, Any], delivery: str = "d-1") -> NativeEvent:
    return NativeEvent(
        "test", str(doc.get("kind")), delivery, json.loads(json.dumps(doc), parse_float=Decimal)
    )


CANCEL = """
  - name: cancel
    match: [{path: kind, equals: lost}]
    when: [{path: stage, in: [Closed Lost, Lost]}]
    unless: [{path: origin, contains: "client=q2c"}]
    emit: deal-cancelled
    correlation_id: {path: id, as: string}
    fields:
      deal_id: {path: id, as: string}
      reason: {path: [why, stage], as: string, map: {"Closed Lost": "lost", "Lost": "lost", "Budget": "no budget"}}
"""


def test_paths_resolve_nested_keys_indexes_and_key_selectors() -> None:
    doc = {"a": {"b": [{"c": 1}, {"c": 2}]}, "params": [{"key": "Target", "value": {"x": "y"}}]}
    assert resolve(doc, "a.b[1].c") == 2
    assert resolve(doc, "params[key=Target].value.x") == "y"
    assert resolve(doc, "params[key=Other].value") is None
    assert resolve(doc, "a.b[9].c") is None
    assert resolve(doc, "a.b.c") is None
    assert resolve({"k": [1]}, "$item.x", {"x": 5}) == 5
    with pytest.raises(PathSyntaxError):
        parse_path("a..b")


def test_values_keep_money_exact_and_read_dates_in_their_zone() -> None:
    assert from_minor_units(1999, "EUR") == Decimal("19.99")
    assert from_minor_units(1999, "JPY") == Decimal("1999")
    assert from_minor_units(1999, "KWD") == Decimal("1.999")
    assert from_minor_units("83350.5", "USD") == Decimal("833.505")
    assert to_datetime("/Date(1764590400000)/") == datetime(2025, 12, 1, 12, 0, tzinfo=UTC)
    naive = to_datetime("2026-03-01T09:00:00", "Europe/Berlin")
    assert naive == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert to_date("2026-03-01T23:30:00Z", "Europe/Berlin") == date(2026, 3, 2)
    assert unix_date(1767222000, "America/New_York") == date(2025, 12, 31)
    for bad in (1.5, "abc", True):
        with pytest.raises(ValueProblem):
            from_minor_units(bad, "EUR")


def test_a_rule_emits_with_a_value_map_and_a_deterministic_id() -> None:
    mapping = _mapping(CANCEL)
    doc = {"kind": "lost", "id": "OPP-1", "stage": "Closed Lost", "why": "Budget"}
    first = translate(_native(doc), mapping, NOW)
    again = translate(_native(doc), mapping, NOW)
    other = translate(_native(doc, "d-2"), mapping, NOW)
    assert isinstance(first, list) and isinstance(first[0], DealCancelled)
    assert first[0].reason == "no budget"
    assert first[0].envelope.correlation_id == "OPP-1"
    assert isinstance(again, list) and again[0].envelope.event_id == first[0].envelope.event_id
    assert isinstance(other, list) and other[0].envelope.event_id != first[0].envelope.event_id


def test_when_and_unless_mean_no_event_not_a_dead_letter() -> None:
    mapping = _mapping(CANCEL)
    assert translate(_native({"kind": "lost", "id": "1", "stage": "Open"}), mapping, NOW) == []
    echoed = {"kind": "lost", "id": "1", "stage": "Lost", "origin": "api;client=q2c"}
    assert translate(_native(echoed), mapping, NOW) == []


def test_problems_name_the_native_field() -> None:
    mapping = _mapping(CANCEL)
    assert translate(_native({"kind": "won"}), mapping, NOW) == Unmapped(
        "no mapping rule for native event 'won'", "kind"
    )
    assert translate(_native({"kind": "lost", "stage": "Lost"}), mapping, NOW) == Unmapped(
        "required value is missing", "id"
    )
    odd = {"kind": "lost", "id": "1", "stage": "Lost", "why": "Other"}
    assert translate(_native(odd), mapping, NOW) == Unmapped(
        "value not in the mapping's value map", "why"
    )


def test_for_each_each_json_text_and_contract_rules() -> None:
    rules = """
  - name: expenses
    match: [{path: kind, equals: report}]
    emit: expense-approved
    for_each: lines
    fields:
      project_id: {path: $item.project, as: string}
      expense.expense_id: {path: $item.id, as: string}
      expense.resource_id: {path: who, as: string}
      expense.expense_date: {path: $item.date, as: date}
      expense.category: {const: Travel}
      expense.amount.amount: {path: $item.amount, as: decimal}
      expense.amount.currency: {path: currency, as: string, case: upper}
"""
    mapping = _mapping(rules)
    doc = {
        "kind": "report",
        "who": "R1",
        "currency": "eur",
        "lines": [
            {"project": "P1", "id": "E1", "date": "2026-01-02", "amount": 10.10},
            {"project": "P1", "id": "E2", "date": "2026-01-03", "amount": "0.30"},
        ],
    }
    events = translate(_native(doc), mapping, NOW)
    assert isinstance(events, list) and all(isinstance(e, ExpenseApproved) for e in events)
    assert [e.expense.amount.amount for e in events] == [Decimal("10.10"), Decimal("0.30")]  # type: ignore[attr-defined]
    assert len({e.envelope.event_id for e in events}) == 2
    negative = {**doc, "lines": [{"project": "P1", "id": "E1", "date": "2026-01-02", "amount": -5}]}
    result = translate(_native(negative), mapping, NOW)
    assert isinstance(result, Unmapped)
    assert result.field_path == "$item.amount" and "amount must be positive" in result.reason


READ_BACK = """
  - name: gap
    match: [{path: kind, startswith: GAP_}]
    when: [{path: readback.opp.IsWon, equals: true}]
    read_back:
      - {name: opp, object: Opportunity, id: rid, fields: [Id, IsWon]}
    emit: deal-cancelled
    fields:
      deal_id: {path: readback.opp.Id, as: string}
      reason: {const: re-read}
  - name: stripped
    match: [{path: kind, equals: big}]
    unmapped: context stripped
"""


def test_read_back_rules_need_their_results_then_translate_from_them() -> None:
    mapping = _mapping(READ_BACK)
    native = {"kind": "GAP_UPDATE", "rid": "006A"}
    assert [r.name for r in rules_to_read_back(_native(native), mapping)] == ["gap"]
    assert translate(_native(native), mapping, NOW) == Unmapped(
        "needs read-back of Opportunity(Id, IsWon)", "kind"
    )
    won = {**native, "readback": {"opp": {"Id": "006A", "IsWon": True}}}
    [event] = translate(_native(won), mapping, NOW)  # type: ignore[misc]
    assert isinstance(event, DealCancelled) and event.deal_id == "006A"
    assert rules_to_read_back(_native(won), mapping) == []
    # A condition on a read-back result is judged once it is read: not won, no event.
    lost = {**native, "readback": {"opp": {"Id": "006A", "IsWon": False}}}
    assert translate(_native(lost), mapping, NOW) == []
    assert translate(_native({"kind": "big"}), mapping, NOW) == Unmapped("context stripped", "kind")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            "    read_back: [{name: o, object: Opp, id: rid, fields: [Id]}]\n    unmapped: gone\n",
            "only go with emit",
        ),
        (
            "    read_back: [{name: o, object: Opp, fields: [Id]}]\n    emit: deal-cancelled\n",
            "exactly one of id, where",
        ),
        (
            '    read_back: [{name: o, object: "Opp WHERE", id: rid, fields: [Id]}]\n    emit: deal-cancelled\n',
            "not an API name",
        ),
        (
            "    for_each: ids\n    read_back: [{name: o, object: Opp, id: $item.id, fields: [Id]}]\n    emit: deal-cancelled\n",
            "cannot read \\$item",
        ),
        (
            "    when: [{path: $item.x, exists: true}]\n    emit: deal-cancelled\n",
            "condition on \\$item needs for_each",
        ),
        (
            "    emit: deal-cancelled\n    fields:\n      reason: {template: no placeholder}\n",
            "at least one {path} placeholder",
        ),
        (
            "    emit: deal-cancelled\n    fields:\n      reason: {path: d, weekday: day}\n",
            "weekday and add_days go with as: date",
        ),
    ],
)
def test_bad_read_backs_are_refused_at_load(rule: str, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        _mapping("  - name: r\n    match: [{path: kind, equals: x}]\n" + rule)


WEEK = """
  - name: week
    match: [{path: kind, equals: timecard}]
    when:
      - {path: status, equals: Approved}
      - {path: $item.value, greater_than: 0}
    read_back:
      - {name: card, object: Timecard, id: rid, fields: [Id, Start, Mon, Tue, Sun]}
    emit: time-entry-approved
    for_each: {monday: readback.card.Mon, tuesday: readback.card.Tue, sunday: readback.card.Sun}
    fields:
      project_id: {const: P1}
      entry.entry_id: {template: "{readback.card.Id}:{$item.key}"}
      entry.resource.resource_id: {const: R1}
      entry.resource.name: {const: Ada}
      entry.resource.role: {const: Architect}
      entry.work_date: {path: readback.card.Start, as: date, weekday: $item.key}
      entry.hours: {path: $item.value, as: decimal}
      entry.description: {const: ""}
"""


def test_for_each_of_named_fields_makes_one_event_per_day_with_hours() -> None:
    mapping = _mapping(WEEK)
    card = {"Id": "TC1", "Start": "2026-03-04", "Mon": "0.00", "Tue": 7.25, "Sun": 8}
    doc = {"kind": "timecard", "rid": "TC1", "status": "Approved", "readback": {"card": card}}
    events = translate(_native(doc), mapping, NOW)
    assert isinstance(events, list)
    # A Wednesday week start: its Sunday and Tuesday are the 8th and the 10th; Monday has
    # no hours, so no entry.
    assert [(e.entry.entry_id, e.entry.work_date, e.entry.hours) for e in events] == [  # type: ignore[attr-defined]
        ("TC1:tuesday", date(2026, 3, 10), Decimal("7.25")),
        ("TC1:sunday", date(2026, 3, 8), Decimal("8")),
    ]
    # Each day keeps its event id whatever the other days hold.
    more = {**doc, "readback": {"card": {**card, "Mon": 1}}}
    again = translate(_native(more), mapping, NOW)
    assert isinstance(again, list) and len(again) == 3
    assert {e.envelope.event_id for e in events} < {e.envelope.event_id for e in again}
    # Before the read-back the days cannot be judged: the rule asks for it, then is done.
    unread = {k: v for k, v in doc.items() if k != "readback"}
    assert [r.name for r in rules_to_read_back(_native(unread), mapping)] == ["week"]
    assert rules_to_read_back(_native(doc), mapping) == []
    # A day field whose value is not a weekday's, a week start that is no date: field named.
    bad = {**doc, "readback": {"card": {**card, "Start": "someday"}}}
    assert translate(_native(bad), mapping, NOW) == Unmapped(
        "not an ISO 8601 date-time", "readback.card.Start"
    )
    over = {**doc, "readback": {"card": {**card, "Sun": 25}}}
    result = translate(_native(over), mapping, NOW)
    assert isinstance(result, Unmapped) and result.field_path == "$item.value"


def test_templates_and_added_days() -> None:
    rules = """
  - name: cancel
    match: [{path: kind, equals: lost}]
    emit: deal-cancelled
    fields:
      deal_id: {template: "{org}/{id}"}
      reason: {template: "lost on {when}", optional: true}
"""
    mapping = _mapping(rules)
    [event] = translate(_native({"kind": "lost", "org": "O1", "id": 7, "when": "x"}), mapping, NOW)  # type: ignore[misc]
    assert isinstance(event, DealCancelled)
    assert (event.deal_id, event.reason) == ("O1/7", "lost on x")
    missing = translate(_native({"kind": "lost", "org": "O1", "when": "x"}), mapping, NOW)
    assert missing == Unmapped("required value is missing", "org")
    assert plus_days(date(2026, 1, 31), 30) == date(2026, 3, 2)
    assert on_weekday(date(2026, 3, 1), "Sunday") == date(2026, 3, 1)
    with pytest.raises(ValueProblem):
        on_weekday(date(2026, 3, 1), "someday")


def test_ignored_kinds_give_nothing() -> None:
    mapping = _mapping(CANCEL, "ignore:\n  - {path: kind, in: [noise]}\n")
    assert translate(_native({"kind": "noise"}), mapping, NOW) == []


@pytest.mark.parametrize(
    ("rules", "line", "field", "message"),
    [
        (
            CANCEL.replace("deal-cancelled", "deal-canceled"),
            11,
            "rules[0].emit",
            "unknown canonical event",
        ),
        (
            CANCEL.replace("      deal_id:", "      deal:"),
            14,
            "rules[0].fields.deal",
            "unknown canonical field deal",
        ),
        (
            CANCEL.replace("      deal_id: {path: id, as: string}\n", ""),
            13,
            "rules[0].fields",
            "missing required canonical field deal_id",
        ),
        (
            CANCEL.replace(
                "path: id, as: string}\n      reason", "path: id..x, as: string}\n      reason"
            ),
            14,
            "rules[0].fields.deal_id.path",
            "bad field path",
        ),
        (
            CANCEL.replace("as: string, map", "as: money, map"),
            15,
            "rules[0].fields.reason.as",
            "Input should be",
        ),
        (
            CANCEL.replace("    when:", "    whenn:"),
            9,
            "rules[0].whenn",
            "Extra inputs are not permitted",
        ),
    ],
)
def test_check_names_file_line_and_field(rules: str, line: int, field: str, message: str) -> None:
    with pytest.raises(MappingError) as err:
        _mapping(rules)
    problems = err.value.problems
    assert any(
        p.file == "test.yaml" and p.line == line and p.field == field and message in p.message
        for p in problems
    ), [str(p) for p in problems]


def test_shipped_mappings_are_valid(repo_root: Path) -> None:
    files = sorted((repo_root / "engine" / "connectors").glob("*/mapping.yaml"))
    assert len(files) == 7
    for file in files:
        parse_mapping(file.read_text(), str(file))
