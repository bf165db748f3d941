"""Fuzz the API from its own OpenAPI document (schemathesis): no 500s, responses match it."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tests.unit.api_fakes import OPERATOR, make_app

schema = schemathesis.openapi.from_asgi("/openapi.json", make_app())


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case) -> None:
    # An operator token reaches every handler (auth refusals are tested in test_api_app). The
    # negative-data check is off because the injected token makes "missing Authorization"
    # cases valid, and unknown query parameters are ignored on purpose (older clients).
    case.call_and_validate(
        headers={"Authorization": f"Bearer {OPERATOR}"},
        excluded_checks=[checks.negative_data_rejection],
    )
