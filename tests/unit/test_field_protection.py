"""Field-level protection: classified fields leave the producer sealed or tokenized, come back
whole with the key, and fail with one clear line without it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from engine.codec import Codec, DecodeError
from engine.contracts import EVENT_MODELS, ClosedWon, Event
from engine.security.classification import (
    ATTRIBUTE,
    Classification,
    classified_fields,
    field_classifications,
)
from engine.security.keyring import FileKeysetProvider, Keyring
from engine.security.protection import SEALED_HEADER, FieldProtection, seal_model, seal_record

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"
CODEC = Codec()
TOPIC, KEY = "q2c.crm.events", b"deal-1001"


def load(name: str) -> Event:
    data = json.loads((FIXTURES / f"{name}.json").read_text(), parse_float=Decimal)
    return EVENT_MODELS[data["envelope"]["event_type"]].model_validate(data)


@pytest.fixture
def keyset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FileKeysetProvider]:
    """A keyset file this process uses (as `Q2C_FIELD_KEYSET_FILE` would set it)."""
    from engine.security import protection

    provider = FileKeysetProvider(tmp_path / "keys.json")
    provider.save(Keyring.generate())
    monkeypatch.setenv(protection.KEYSET_ENV, str(provider.path))
    protection.active.cache_clear()
    yield provider
    protection.active.cache_clear()


def reset() -> None:
    from engine.security import protection

    protection.active.cache_clear()


def test_the_contracts_classify_rates_payment_tax_and_billing_terms() -> None:
    defs = CODEC.store.current.definitions
    names = {f.name: f.classification for f in classified_fields("io.q2c.ClosedWon", defs)}
    assert names == {
        "account.tax_registration": Classification.CONFIDENTIAL,
        "contract.total_value": Classification.CONFIDENTIAL,
        "contract.payment_terms_days": Classification.CONFIDENTIAL,
        "contract.rate_card.rates[].hourly_rate": Classification.CONFIDENTIAL,
        "contract.billing_period_days": Classification.CONFIDENTIAL,
    }
    payment = classified_fields("io.q2c.PaymentReceived", defs)
    assert [(f.name, f.classification) for f in payment] == [
        ("payment.payer_account", Classification.TOKENIZED)
    ]
    entry = classified_fields("io.q2c.TimeEntryApproved", defs)
    assert [f.name for f in entry] == ["entry.resource.cost_rate"]
    # A time-and-materials line's unit price is a rate-card rate (and amount / quantity).
    invoice = classified_fields("io.q2c.InvoiceIssued", defs)
    assert [f.name for f in invoice] == ["invoice.lines"]
    command = classified_fields("io.q2c.IssueInvoice", defs)
    assert {f.name for f in command} == {"lines", "payment_terms_days"}


def test_every_copy_of_a_classified_field_is_classified_too() -> None:
    """A record that copies a classified value under the same field name (the payment terms
    in issue-invoice, the tax registration in account-validated, an amended total value)
    must classify it as well, or the copy travels in clear."""
    defs = CODEC.store.current.definitions
    classified = {field for (_record, field) in field_classifications(defs)}
    unclassified = sorted(
        f"{name}.{f['name']}"
        for name, definition in defs.items()
        for f in definition.get("fields", ())
        if f["name"] in classified and ATTRIBUTE not in f
    )
    assert unclassified == []


def test_sealed_values_are_not_in_the_bytes_and_open_with_the_key(
    keyset: FileKeysetProvider,
) -> None:
    event = load("closed-won-time-and-materials")
    assert isinstance(event, ClosedWon) and event.contract.rate_card is not None
    rate = str(event.contract.rate_card.rates[0].hourly_rate.amount)
    value, headers = seal_model(event, TOPIC, KEY)
    wire = value + b"".join(v for _, v in headers)
    for secret in (rate, event.account.tax_registration or "", "payment_terms_days"):
        assert secret.encode() not in value
    assert rate.encode() not in wire and b"DE123456789" not in wire
    assert [name for name, _ in headers] == [SEALED_HEADER]
    assert (
        CODEC.decode(value, topic=TOPIC, partition=0, offset=0, headers=headers, key=KEY) == event
    )


def test_sealing_a_record_leaves_the_callers_values_as_they_were(
    keyset: FileKeysetProvider,
) -> None:
    """The worker seals commands built from a saga's data: the data must keep its clear values
    (sealing them in place would write placeholders into the saga's state)."""
    event = load("closed-won-time-and-materials")
    assert isinstance(event, ClosedWon)
    record = event.model_dump()
    before = json.dumps(record, default=str, sort_keys=True)
    value, headers = seal_record(event.AVRO_NAME, record, TOPIC, KEY)
    assert json.dumps(record, default=str, sort_keys=True) == before
    assert event.account.tax_registration
    assert event.account.tax_registration.encode() not in value
    assert CODEC.decode(value, topic=TOPIC, partition=0, offset=0, headers=headers, key=KEY) == (
        event
    )


def test_every_rate_of_a_rate_card_is_sealed(keyset: FileKeysetProvider) -> None:
    """The rates are a tuple in the model (a list on the wire): each one is sealed, and a
    reader without the key sees placeholders (the rate's Avro bytes are not text, so only the
    decoded record shows whether it travelled in clear)."""
    event = load("closed-won-time-and-materials")
    assert isinstance(event, ClosedWon) and event.contract.rate_card is not None
    value, headers = seal_model(event, TOPIC, KEY)
    _, record = CODEC.decode_record(value)
    rates = record["contract"]["rate_card"]["rates"]
    assert len(rates) == len(event.contract.rate_card.rates) > 0
    assert all(r["hourly_rate"]["amount"] == Decimal(0) for r in rates)
    assert CODEC.decode(value, topic=TOPIC, partition=0, offset=0, headers=headers, key=KEY) == (
        event
    )


def test_a_reader_without_the_header_sees_placeholders_only(keyset: FileKeysetProvider) -> None:
    event = load("closed-won")
    value, _ = seal_model(event, TOPIC, KEY)
    _, record = CODEC.decode_record(value)
    assert record["contract"]["total_value"]["amount"] == Decimal(0)
    assert record["account"]["tax_registration"] is None
    assert record["contract"]["milestones"][0]["name"] == "Kick-off"  # unclassified: as is


@pytest.mark.parametrize(
    ("topic", "key"), [("q2c.erp.events", KEY), (TOPIC, b"deal-2002")], ids=["topic", "key"]
)
def test_a_ciphertext_moved_to_another_record_does_not_open(
    keyset: FileKeysetProvider, topic: str, key: bytes
) -> None:
    event = load("closed-won")
    value, headers = seal_model(event, TOPIC, KEY)
    moved = [(n, v.replace(TOPIC.encode(), topic.encode())) for n, v in headers]
    with pytest.raises(DecodeError, match="does not open"):
        CODEC.decode(value, topic=topic, partition=0, offset=5, headers=moved, key=key)


def test_rotation_keeps_old_records_readable_and_removal_fails_in_one_line(
    keyset: FileKeysetProvider,
) -> None:
    event = load("closed-won")
    old_value, old_headers = seal_model(event, TOPIC, KEY)
    old_key = next(k.key_id for k in keyset.load().key_infos() if k.purpose == "aead")
    keyset.save(keyset.load().rotated())
    reset()
    new_value, new_headers = seal_model(event, TOPIC, KEY)
    for value, headers in ((old_value, old_headers), (new_value, new_headers)):
        assert (
            CODEC.decode(value, topic=TOPIC, partition=0, offset=0, headers=headers, key=KEY)
            == event
        )
    keyset.save(keyset.load().without(old_key))
    reset()
    assert (
        CODEC.decode(new_value, topic=TOPIC, partition=0, offset=1, headers=new_headers, key=KEY)
        == event
    )
    with pytest.raises(DecodeError) as info:
        CODEC.decode(old_value, topic=TOPIC, partition=0, offset=7, headers=old_headers, key=KEY)
    message = str(info.value)
    assert f"key {old_key}, which is not in the keyset" in message and "offset=7" in message
    assert "\n" not in message and "DE123456789" not in message


def test_tokens_are_joinable_and_reversible_with_the_key(keyset: FileKeysetProvider) -> None:
    base = load("payment-received")
    iban = "DE89370400440532013000"
    data = base.model_dump()
    data["payment"]["payer_account"] = iban
    first = type(base).model_validate(data)
    data["payment"]["payment_id"] = "PAY-other"
    second = type(base).model_validate(data)
    tokens = []
    for event in (first, second):
        value, headers = seal_model(event, "q2c.billing.events", b"INV-1")
        assert iban.encode() not in value + b"".join(v for _, v in headers)
        tokens.append(CODEC.decode_record(value)[1]["payment"]["payer_account"])
        opened = CODEC.decode(
            value, topic="t", partition=0, offset=0, headers=headers, key=b"INV-1"
        )
        assert opened == event
    assert tokens[0] == tokens[1] and tokens[0].startswith("tok:")


def test_without_a_keyset_a_sealed_record_is_refused_clearly(keyset: FileKeysetProvider) -> None:
    value, headers = seal_model(load("closed-won"), TOPIC, KEY)
    keyless = FieldProtection(None, CODEC.store)
    _, record = CODEC.decode_record(value)
    with pytest.raises(DecodeError, match="no field keyset"):
        keyless.open("io.q2c.ClosedWon", record, headers[0][1], KEY)


def test_masking_hides_every_classified_value() -> None:
    event = load("closed-won-time-and-materials")
    masked = FieldProtection(None, CODEC.store).mask(
        "io.q2c.ClosedWon", event.model_dump(mode="json")
    )
    text = json.dumps(masked)
    assert "DE123456789" not in text and "[confidential]" in text
    assert masked["contract"]["rate_card"]["rates"][0]["hourly_rate"] == "[confidential]"


def test_a_sealed_saga_state_restores_its_summary_and_state(keyset: FileKeysetProvider) -> None:
    """A worker with a keyset seals its changelog; a restore (which reads only the summary)
    opens it too, instead of failing to parse ciphertext as JSON."""
    from datetime import UTC, datetime

    from engine.saga.codec import state_from_bytes, state_to_bytes, summary_from_bytes, summary_of
    from engine.saga.model import HistoryRecord, SagaState, Timer

    at = datetime(2030, 1, 1, tzinfo=UTC)
    state = SagaState(
        saga_type="quote-to-cash",
        saga_key="D-1",
        state="awaiting_activation",
        data={"contract": {"total_value": "40000.00"}},
        timers={"sla": Timer("activation-sla", at, {})},
        history=(HistoryRecord(None, "awaiting_activation", "e-1", "project-created", at),),
        version=1,
    )
    sealed = state_to_bytes(state)
    assert b"40000.00" not in sealed
    assert summary_from_bytes(sealed) == summary_of(state)
    assert state_from_bytes(sealed) == state
