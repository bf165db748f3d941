"""Random mutations of valid native payloads translate or give Unmapped with a field path,
never an exception (hypothesis)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.connectors.mapping.engine import READBACK
from engine.connectors.protocol import NativeEvent, Unmapped
from engine.connectors.registry import (
    load_mappings,
    native_events,
    translate_natives,
    translate_request,
)
from engine.connectors.settings import ConnectorSettings
from tests.connector_cases import Case, all_cases

CASES = all_cases()
JSON_CASES = [c for c in CASES if c.body_path.suffix == ".json"]
READ_BACK_CASES = [c for c in CASES if c.readback_path.exists()]
MAPPINGS = load_mappings(ConnectorSettings())

leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.text(max_size=12),
    st.sampled_from(["", "true", "1", "Closed Won", "2026-13-45", "/Date(abc)/", "eur"]),
)
json_value = st.recursive(
    leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(doc: Any, path: tuple[Any, ...], op: str, value: Any) -> Any:
    if not path:
        return value if op == "replace" else doc
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        copy = dict(doc)
        if not rest and op == "delete":
            copy.pop(head, None)
        else:
            copy[head] = _mutate(doc[head], rest, op, value)
        return copy
    copy_list = list(doc)
    if not rest and op == "delete":
        del copy_list[head]
    else:
        copy_list[head] = _mutate(doc[head], rest, op, value)
    return copy_list


def _check(result: object) -> None:
    if isinstance(result, Unmapped):
        assert result.reason and result.field_path
    else:
        assert isinstance(result, list)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_json_payloads_never_raise(data: st.DataObject) -> None:
    case: Case = data.draw(st.sampled_from(JSON_CASES))
    doc = json.loads(case.body_path.read_bytes(), parse_float=Decimal)
    mutations = data.draw(st.integers(min_value=1, max_value=4))
    for _ in range(mutations):
        path = data.draw(st.sampled_from(_paths(doc)))
        op = data.draw(st.sampled_from(["delete", "replace"]))
        doc = _mutate(doc, path, op, data.draw(json_value))
    body = json.dumps(doc, default=str).encode()
    _check(translate_request(case.request(body), MAPPINGS))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_read_back_answers_never_raise(data: st.DataObject) -> None:
    # What a platform answers is as untrusted as what it posts.
    case: Case = data.draw(st.sampled_from(READ_BACK_CASES))
    answers: Any = case.read_back()
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        path = data.draw(st.sampled_from(_paths(answers)))
        op = data.draw(st.sampled_from(["delete", "replace"]))
        answers = _mutate(answers, path, op, data.draw(json_value))
    natives = native_events(case.request())
    assert not isinstance(natives, Unmapped)
    enriched = [
        NativeEvent(n.platform, n.kind, n.delivery_id, {**n.document, READBACK: answers}, n.mapping)
        for n in natives
    ]
    _check(translate_natives(enriched, MAPPINGS, case.request().received_at))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_corrupted_bytes_never_raise(data: st.DataObject) -> None:
    case: Case = data.draw(st.sampled_from(CASES))
    raw = case.body_path.read_bytes()
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    junk = data.draw(st.binary(max_size=8))
    _check(translate_request(case.request(raw[:cut] + junk + raw[cut + len(junk) :]), MAPPINGS))
