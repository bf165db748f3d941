"""The wire codec: single-object framing, fingerprints, decoding errors, headers."""

from __future__ import annotations

import json
import struct
from decimal import Decimal
from pathlib import Path

import pytest

from engine.codec import Codec, DecodeError, EncodeError, SchemaStore, headers_for
from engine.codec.fingerprint import fingerprint64
from engine.codec.framing import MAGIC
from engine.codec.headers import valid_traceparent
from engine.contracts import EVENT_MODELS, ClosedWon, Event

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"
CODEC = Codec()


def _rabin_reference(text: str) -> int:
    """CRC-64-AVRO exactly as printed in the Avro specification (for cross-checking)."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in text.encode():
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def load_fixture(name: str) -> Event:
    data = json.loads((FIXTURES / f"{name}.json").read_text(), parse_float=Decimal)
    return EVENT_MODELS[data["envelope"]["event_type"]].model_validate(data)


@pytest.fixture
def closed_won() -> ClosedWon:
    event = load_fixture("closed-won")
    assert isinstance(event, ClosedWon)
    return event


def test_fingerprint_matches_the_spec_vector_and_algorithm() -> None:
    # Known vector from the Avro reference tests: the schema "null".
    assert fingerprint64('"null"') == struct.pack("<q", 7195948357588979594)
    canonical = CODEC.store.entry("io.q2c.ClosedWon").canonical
    assert fingerprint64(canonical) == _rabin_reference(canonical).to_bytes(8, "little")


def test_single_object_encoding_layout(closed_won: ClosedWon) -> None:
    data = CODEC.encode(closed_won)
    assert data[:2] == MAGIC == b"\xc3\x01"
    assert data[2:10] == CODEC.fingerprint(closed_won)
    assert CODEC.store.by_fingerprint(data[2:10]) is not None


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_every_fixture_round_trips(path: Path) -> None:
    event = load_fixture(path.stem)
    assert CODEC.decode(CODEC.encode(event), topic="t", partition=0, offset=0) == event


def test_decimals_keep_their_scale_and_value(closed_won: ClosedWon) -> None:
    decoded = CODEC.decode(CODEC.encode(closed_won), topic="t", partition=0, offset=0)
    assert isinstance(decoded, ClosedWon)
    amount = decoded.contract.total_value.amount
    assert amount == Decimal("120000.00") and str(amount) == "120000.0000"


def _decode_error(data: bytes | None) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        CODEC.decode(data, topic="q2c.crm.events", partition=3, offset=1234)
    err = info.value
    assert (err.topic, err.partition, err.offset) == ("q2c.crm.events", 3, 1234)
    assert "q2c.crm.events" in str(err) and "partition=3" in str(err) and "offset=1234" in str(err)
    return err


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage", b"\xc3\x01", b"\x00" * 40, b"\xc3\x01" + b"\xff" * 30],
    ids=["empty", "text", "header-only", "zeros", "unknown-fingerprint"],
)
def test_garbage_raises_decode_error(data: bytes) -> None:
    _decode_error(data)


def test_unknown_fingerprint_is_named() -> None:
    err = _decode_error(MAGIC + b"\x01\x02\x03\x04\x05\x06\x07\x08" + b"\x00")
    assert "unknown schema fingerprint 0102030405060708" in str(err)


def test_truncated_and_padded_bodies_raise(closed_won: ClosedWon) -> None:
    data = CODEC.encode(closed_won)
    assert "does not match writer schema" in str(_decode_error(data[:-5]))
    assert "trailing bytes" in str(_decode_error(data + b"\x00"))


def test_tombstone_raises() -> None:
    assert "tombstone" in str(_decode_error(None))


def test_invalid_payload_names_field_without_values(closed_won: ClosedWon) -> None:
    # Avro-valid but violates the contract: no legal entity, and a secret-looking tax id.
    record = closed_won.model_dump()
    record["account"]["legal_entity"] = None
    record["account"]["tax_registration"] = "SECRET-TAX-ID"
    record["account"]["name"] = "Very Secret Customer"
    err = _decode_error(CODEC.encode_record("io.q2c.ClosedWon", record))
    assert "account.legal_entity" in str(err)
    assert "SECRET" not in str(err) and "Very Secret" not in str(err)


def test_invalid_field_value_is_named_not_echoed(closed_won: ClosedWon) -> None:
    record = closed_won.model_dump()
    record["contract"]["currency"] = "XYZ"
    record["contract"]["total_value"]["currency"] = "XYZ"
    err = _decode_error(CODEC.encode_record("io.q2c.ClosedWon", record))
    assert "contract.currency" in str(err)
    assert "XYZ" not in str(err)


def test_encode_record_rejects_unknown_type_and_bad_data() -> None:
    with pytest.raises(EncodeError, match="no schema named"):
        CODEC.encode_record("io.q2c.Nope", {})
    with pytest.raises(EncodeError, match=r"io\.q2c\.Money"):
        CODEC.encode_record("io.q2c.Money", {"amount": "not a decimal", "currency": "EUR"})


def test_decode_record_returns_type_and_dict(closed_won: ClosedWon) -> None:
    name, record = CODEC.decode_record(CODEC.encode(closed_won))
    assert name == "io.q2c.ClosedWon"
    assert record["deal_id"] == "deal-1001"


def test_headers(closed_won: ClosedWon) -> None:
    headers = dict(headers_for(closed_won))
    assert headers["q2c-event-type"] == b"closed-won"
    assert headers["q2c-event-id"] == closed_won.envelope.event_id.encode()
    assert headers["q2c-correlation-id"] == b"deal-1001"
    assert headers["q2c-schema-fingerprint"] == CODEC.fingerprint(closed_won).hex().encode()
    assert valid_traceparent(headers["traceparent"].decode())


def test_traceparent_is_passed_through_or_regenerated(closed_won: ClosedWon) -> None:
    given = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert dict(headers_for(closed_won, traceparent=given))["traceparent"] == given.encode()
    fresh = dict(headers_for(closed_won, traceparent="junk"))["traceparent"].decode()
    assert fresh != "junk" and valid_traceparent(fresh)
    # Two messages without a caller trace get different traces.
    assert headers_for(closed_won)[-1] != headers_for(closed_won)[-1]


def test_store_indexes_history_releases() -> None:
    store = SchemaStore()
    assert "v1" in store.history
    for name, entry in store.history["v1"].entries.items():
        assert store.by_fingerprint(entry.fingerprint) is not None, name
