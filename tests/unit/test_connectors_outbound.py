"""Pure parts of the outbound connectors: error classes, circuit breaker, fields, routing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.adapters.errors import Disposition, PermanentError, classify
from engine.connectors.outbound.circuit import CircuitBreaker, CircuitState
from engine.connectors.outbound.connector import routes_of
from engine.connectors.outbound.errors import RateLimited, Rejected, error_for
from engine.connectors.outbound.fields import FieldsError, load_fields
from engine.connectors.outbound.service import FACTORIES
from engine.connectors.stripe.outbound import minor_units
from engine.contracts import Money
from tests.clocks import FakeClock

CASES = [
    # platform, status, headers, body, disposition
    ("stripe", 429, {"retry-after": "2"}, {"error": {"type": "rate_limit_error"}}, "retry"),
    ("dynamics", 429, {"retry-after": "5"}, {"error": {"code": "0x80072322"}}, "retry"),
    ("salesforce", 403, {}, [{"errorCode": "REQUEST_LIMIT_EXCEEDED"}], "retry"),
    ("netsuite", 400, {}, {"o:errorDetails": [{"o:errorCode": "SSS_REQUEST_LIMIT_EXCEEDED"}]}, "retry"),
    ("netsuite", 429, {}, None, "retry"),
    ("sap", 503, {}, None, "retry"),
    ("oracle", 500, {}, {"title": "boom"}, "retry"),
    ("stripe", 409, {}, {"error": {"type": "idempotency_error"}}, "retry"),
    ("salesforce", 403, {}, [{"errorCode": "INSUFFICIENT_ACCESS"}], "dead-letter"),
    ("stripe", 400, {}, {"error": {"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters"}}, "dead-letter"),
    ("stripe", 500, {"stripe-should-retry": "false"}, {"error": {"type": "api_error"}}, "dead-letter"),
    ("netsuite", 400, {}, {"o:errorDetails": [{"o:errorCode": "USER_ERROR", "o:errorPath": "subsidiary"}]}, "dead-letter"),
]  # fmt: skip


@pytest.mark.parametrize(("platform", "status", "headers", "body", "expected"), CASES)
def test_replies_are_classified_as_the_platform_means_them(
    platform: str, status: int, headers: dict[str, str], body: object, expected: str
) -> None:
    error = error_for(platform, status, headers, body)
    assert error is not None
    assert classify(error) is Disposition(expected)


def test_a_rate_limit_carries_retry_after() -> None:
    error = error_for("dynamics", 429, {"retry-after": "7"}, None)
    assert isinstance(error, RateLimited) and error.retry_after_s == 7.0


def test_a_permanent_error_names_code_and_path_but_never_the_message() -> None:
    body = {"error": {"type": "invalid_request_error", "code": "resource_missing",
                      "param": "customer", "message": "No such customer: 'cus_SECRET'"}}  # fmt: skip
    error = error_for("stripe", 400, {}, body)
    assert isinstance(error, Rejected)
    assert (error.code, error.path) == ("resource_missing", "customer")
    assert "cus_SECRET" not in str(error)


def test_success_is_no_error() -> None:
    assert error_for("sap", 204, {}, None) is None


def test_circuit_opens_after_threshold_and_lets_one_trial_through_after_reset() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, reset_s=10, clock=clock)
    for _ in range(3):
        assert breaker.allow()
        breaker.failure()
    assert breaker.state is CircuitState.OPEN and not breaker.allow()
    assert breaker.remaining_s() == 10
    clock.now = 10
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # only one at a time
    breaker.failure()
    assert breaker.state is CircuitState.OPEN
    clock.now = 20
    assert breaker.allow()
    breaker.success()
    assert breaker.state is CircuitState.CLOSED and breaker.remaining_s() == 0


@given(st.lists(st.booleans(), max_size=60))
def test_circuit_is_open_exactly_after_threshold_consecutive_failures(outcomes: list[bool]) -> None:
    breaker = CircuitBreaker(threshold=4, reset_s=1000, clock=FakeClock())
    streak = 0
    for ok in outcomes:
        if not breaker.allow():
            assert streak >= 4
            continue
        if ok:
            breaker.success()
            streak = 0
        else:
            breaker.failure()
            streak += 1
        assert (breaker.state is CircuitState.OPEN) == (streak >= 4)


def test_every_platform_has_a_valid_field_file() -> None:
    for platform in FACTORIES:
        assert load_fields(platform).platform == platform


def test_a_firms_field_file_wins_and_a_typo_is_named(tmp_path: Path) -> None:
    (tmp_path / "stripe.yaml").write_text(
        "platform: stripe\nrecords:\n  customer: {name: customers, external_id: firm_deal}\n"
        "  invoice: {name: invoices}\n"
    )
    assert load_fields("stripe", tmp_path).record("customer").external_id == "firm_deal"
    (tmp_path / "netsuite.yaml").write_text("platform: netsuite\nrecords:\n  job: {nmae: job}\n")
    with pytest.raises(FieldsError, match=r"netsuite\.yaml"):
        load_fields("netsuite", tmp_path)


def test_two_connectors_claiming_one_command_is_refused() -> None:
    class Fake:
        def __init__(self, platform: str) -> None:
            self.platform = platform
            self.commands = frozenset({"create-project"})

    with pytest.raises(ValueError, match="create-project"):
        routes_of([Fake("netsuite"), Fake("sap")])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("1000", "EUR", 100000),
        ("250.50", "USD", 25050),
        ("1000", "JPY", 1000),
        ("1.234", "KWD", 1234),
    ],
)
def test_minor_units(amount: str, currency: str, minor: int) -> None:
    assert minor_units(Money(amount=Decimal(amount), currency=currency), "line 1") == minor


def test_an_amount_finer_than_the_currency_is_refused() -> None:
    with pytest.raises(PermanentError, match="line 2 has more decimals than JPY"):
        minor_units(Money(amount=Decimal("10.5"), currency="JPY"), "line 2")


@given(
    status=st.integers(min_value=400, max_value=599),
    code=st.sampled_from(["USER_ERROR", "INVALID_FIELD", "REQUEST_LIMIT_EXCEEDED", None]),
    secret=st.text(min_size=8, max_size=20).filter(str.strip),
)
def test_classification_by_status_and_no_message_text_ever_leaks(
    status: int, code: str | None, secret: str
) -> None:
    body: list[dict[str, object]] = [{"errorCode": code, "message": secret, "fields": []}]
    error = error_for("salesforce", status, {}, body)
    assert error is not None
    limit = status == 429 or code == "REQUEST_LIMIT_EXCEEDED"
    transient = limit or status >= 500 or status in (408, 409)
    assert classify(error) is (Disposition.RETRY if transient else Disposition.DEAD_LETTER)
    assert isinstance(error, RateLimited) == limit
    if secret not in f"salesforce HTTP {status} {code}":
        assert secret not in str(error)
