"""Every platform fixture translates to its golden canonical events (or its golden reason)."""

from __future__ import annotations

import pytest

from engine.connectors.mapping.engine import READBACK
from engine.connectors.protocol import NativeEvent, Unmapped
from engine.connectors.registry import (
    load_mappings,
    native_events,
    translate_natives,
    translate_request,
)
from engine.connectors.settings import ConnectorSettings
from tests.connector_cases import Case, all_cases, golden, rendered

CASES = all_cases()
READ_BACK_CASES = [c for c in CASES if c.readback_path.exists()]
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


def _enriched(case: Case) -> list[NativeEvent]:
    natives = native_events(case.request())
    assert not isinstance(natives, Unmapped)
    results = case.read_back()
    return [
        NativeEvent(n.platform, n.kind, n.delivery_id, {**n.document, READBACK: results}, n.mapping)
        for n in natives
    ]


@pytest.mark.parametrize("case", READ_BACK_CASES, ids=[c.name for c in READ_BACK_CASES])
def test_fixture_with_its_read_backs_translates_to_its_enriched_golden_file(case: Case) -> None:
    # What the translator publishes once the platform answered the read-backs.
    result = translate_natives(_enriched(case), MAPPINGS, case.request().received_at)
    actual = rendered(result)
    assert actual == golden(case, actual, case.enriched_golden_path)
    assert not isinstance(result, Unmapped), result


def test_the_read_back_fixtures_cover_sap_orders_and_billing_and_certinia_timecards() -> None:
    assert {c.name for c in READ_BACK_CASES} >= {
        "sap/salesorder-created",
        "sap/billingdocument-created",
        "certinia/timecard-approved.cdc",
    }
