"""Every platform fixture translates to its golden canonical events (or its golden reason)."""

from __future__ import annotations

import pytest

from engine.connectors.registry import load_mappings, translate_request
from engine.connectors.settings import ConnectorSettings
from tests.connector_cases import Case, all_cases, golden, rendered

CASES = all_cases()
MAPPINGS = load_mappings(ConnectorSettings())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture_translates_to_its_golden_file(case: Case) -> None:
    actual = rendered(translate_request(case.request(), MAPPINGS))
    assert actual == golden(case, actual)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_translation_is_deterministic(case: Case) -> None:
    # A redelivered request (same bytes, later arrival) yields the same event ids.
    first = translate_request(case.request(), MAPPINGS)
    again = translate_request(case.request(), MAPPINGS)
    assert rendered(first) == rendered(again)


def test_every_platform_has_fixtures() -> None:
    folders = {c.name.split("/")[0] for c in CASES}
    assert {"stripe"} <= folders
