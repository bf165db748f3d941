"""Business validation of the contract models, and the type/domain/topic/key registries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from engine.contracts import (
    COMMAND_MODELS,
    COMMAND_TARGETS,
    EVENT_DOMAINS,
    EVENT_MODELS,
    ClosedWon,
    Envelope,
    Money,
    SagaStatusChanged,
    TimeEntryApproved,
    business_key,
    command_topic,
    event_topic,
    topic_for,
)
from engine.contracts.builders import event_from_dict
from engine.contracts.validation import ContractError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(), parse_float=Decimal)
    return data


def invalid(name: str, change: dict[str, Any], expect: str) -> str:
    """Apply `change` (dotted path -> value) to a fixture; assert it fails naming `expect`."""
    data = fixture(name)
    for path, value in change.items():
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
    with pytest.raises(ContractError) as info:
        event_from_dict(data["envelope"]["event_type"], data)
    assert expect in str(info.value)
    return str(info.value)


def test_fixtures_are_valid() -> None:
    for path in FIXTURES.glob("*.json"):
        data = fixture(path.stem)
        event_from_dict(data["envelope"]["event_type"], data)


def test_closed_won_needs_legal_entity() -> None:
    invalid("closed-won", {"account.legal_entity": None}, "account.legal_entity is required")


@pytest.mark.parametrize("code", ["EURO", "eur", "XXX", "ABC"])
def test_currency_must_be_iso_4217(code: str) -> None:
    message = invalid("closed-won", {"account.currency": code}, "account.currency")
    assert code not in message  # the value is never echoed


def test_amounts_must_be_positive() -> None:
    invalid("expense-approved", {"expense.amount.amount": "0"}, "amount must be positive")
    invalid("payment-received", {"payment.amount.amount": "-5"}, "amount must be positive")


def test_floats_are_refused_for_money() -> None:
    with pytest.raises(ValidationError, match="not a float"):
        Money(amount=0.1, currency="EUR")


def test_money_scale_is_limited_and_normalised() -> None:
    assert str(Money(amount=Decimal("1.5"), currency="EUR").amount) == "1.5000"
    with pytest.raises(ValidationError):
        Money(amount=Decimal("1.00001"), currency="EUR")
    with pytest.raises(ValidationError):
        Money(amount=Decimal("1e17"), currency="EUR")


@pytest.mark.parametrize("hours", ["0", "24.01", "-1"])
def test_hours_must_be_in_0_24(hours: str) -> None:
    invalid("time-entry-approved", {"entry.hours": hours}, "entry.hours")


def test_24_hours_is_allowed() -> None:
    data = fixture("time-entry-approved")
    data["entry"]["hours"] = "24"
    assert isinstance(event_from_dict("time-entry-approved", data), TimeEntryApproved)


def test_start_date_not_after_end_date() -> None:
    invalid("closed-won", {"contract.start_date": "2025-01-01"}, "start_date must not be after")


def test_milestones_sum_to_total_value() -> None:
    invalid("closed-won", {"contract.milestones.0.amount.amount": "1"}, "sum to total_value")


def test_milestones_share_the_contract_currency() -> None:
    invalid(
        "closed-won",
        {"contract.milestones.0.amount.currency": "USD"},
        "milestone amount must be in the contract currency",
    )


def test_milestone_contract_needs_milestones() -> None:
    invalid("closed-won", {"contract.milestones": []}, "at least one milestone")


def test_time_and_materials_needs_a_rate_card() -> None:
    invalid("closed-won-time-and-materials", {"contract.rate_card": None}, "needs a rate_card")


def test_invoice_lines_must_add_up() -> None:
    invalid("invoice-issued", {"invoice.total.amount": "1"}, "line amounts must sum to total")


def test_envelope_type_must_match_the_event() -> None:
    data = fixture("deal-cancelled")
    data["envelope"]["event_type"] = "closed-won"
    with pytest.raises(ValidationError, match=r"envelope\.event_type must be 'deal-cancelled'"):
        EVENT_MODELS["deal-cancelled"].model_validate(data)


def test_unknown_fields_are_refused() -> None:
    invalid("deal-cancelled", {"reasons": "typo"}, "reasons")


def test_timestamps_are_utc_milliseconds_and_need_a_zone() -> None:
    plus2 = timezone(timedelta(hours=2))
    env = Envelope.new("closed-won", "sf").model_copy(update={})
    stamped = Envelope.model_validate(
        {**env.model_dump(), "occurred_at": datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=plus2)}
    )
    assert stamped.occurred_at == datetime(2024, 1, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert stamped.occurred_at.tzinfo == UTC
    with pytest.raises(ValidationError, match="occurred_at"):
        Envelope.model_validate({**env.model_dump(), "occurred_at": datetime(2024, 1, 1)})


def test_models_are_frozen() -> None:
    env = Envelope.new("closed-won", "sf")
    with pytest.raises(ValidationError):
        env.event_type = "x"


def test_event_from_dict_fills_envelope_defaults() -> None:
    data = fixture("deal-cancelled")
    del data["envelope"]
    event = event_from_dict("deal-cancelled", data, source_system="salesforce")
    assert event.envelope.event_type == "deal-cancelled"
    assert event.envelope.schema_version == 1
    assert event.envelope.source_system == "salesforce"
    assert datetime.now(UTC) - event.envelope.occurred_at < timedelta(minutes=1)
    other = event_from_dict("deal-cancelled", data, source_system="salesforce")
    assert other.envelope.event_id != event.envelope.event_id


def test_event_from_dict_names_unknown_type() -> None:
    with pytest.raises(ContractError, match="unknown event type"):
        event_from_dict("closed-lost", {})


def test_registry_covers_the_contract() -> None:
    assert set(EVENT_DOMAINS) == set(EVENT_MODELS)
    assert EVENT_DOMAINS["closed-won"] == "crm"
    assert EVENT_DOMAINS["project-activated"] == "erp"
    assert EVENT_DOMAINS["payment-received"] == "billing"
    assert EVENT_DOMAINS["account-validated"] == "masterdata"
    assert len(EVENT_MODELS) == 18 and len(COMMAND_MODELS) == 12
    assert EVENT_DOMAINS["exception-retry-requested"] == "ops"
    assert COMMAND_TARGETS == {
        "validate-account": "masterdata",
        "create-project": "erp",
        "create-billing-schedule": "billing",
        "issue-invoice": "billing",
        "update-crm-status": "crm",
        "recognize-revenue": "erp",
        "close-project": "erp",
        "cancel-billing-schedule": "billing",
        "escalate": "crm",
        "send-dunning": "billing",
        "update-project-budget": "erp",
        "update-billing-schedule": "billing",
    }


def test_topics() -> None:
    assert event_topic("closed-won") == "q2c.crm.events"
    assert event_topic("invoice-issued", "t1.") == "t1.q2c.billing.events"
    assert event_topic("legal-entity-upserted") == "q2c.masterdata.legal-entities"
    assert event_topic("account-master-upserted") == "q2c.masterdata.accounts"
    assert command_topic("issue-invoice") == "q2c.commands.billing"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("closed-won", "deal-1001"),
        ("account-validated", "deal-1001"),
        ("project-created", "deal-1001"),
        ("project-activated", "PRJ-42"),
        ("time-entry-approved", "PRJ-43"),
        ("billing-schedule-created", "PRJ-42"),
        ("invoice-issued", "INV-2024-0001"),
        ("payment-received", "INV-2024-0001"),
        ("legal-entity-upserted", "LE-DE-01"),
        ("account-master-upserted", "ACC-42"),
    ],
)
def test_business_keys(name: str, key: str) -> None:
    data = fixture(name)
    assert business_key(event_from_dict(data["envelope"]["event_type"], data)) == key


def test_status_routing() -> None:
    now = datetime.now(UTC)
    status = SagaStatusChanged(
        saga_type="quote-to-cash",
        saga_key="deal-1",
        to_state="ACTIVE",
        cause_event_id="e1",
        cause_event_type="closed-won",
        occurred_at=now,
        recorded_at=now,
    )
    assert business_key(status) == "deal-1"
    assert topic_for(status, "p.") == "p.q2c.saga.status"


def test_closed_won_class_is_registered() -> None:
    assert EVENT_MODELS["closed-won"] is ClosedWon
