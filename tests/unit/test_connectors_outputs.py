"""What the translator writes (pure): canonical records as Publisher writes them, dead letters
byte for byte with reason and field path; redelivery storms give the same event ids."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.codec import decode, default_codec
from engine.connectors.native import to_record
from engine.connectors.outputs import FIELD_PATH, READ_BACK, Outputs, outputs_for
from engine.connectors.registry import load_mappings
from engine.connectors.settings import ConnectorSettings
from engine.dlq.records import DeadLetter
from engine.kafka.records import InRecord, OutRecord
from tests.connector_cases import Case, all_cases, golden, rendered

CASES = all_cases()
MAPPINGS = load_mappings(ConnectorSettings())
CODEC = default_codec()


def _stored(case: Case, offset: int = 7) -> InRecord:
    out: OutRecord = to_record("p.q2c.native." + case.platform, case.request(), "key-1")
    return InRecord(out.topic, 1, offset, out.key, out.value, out.headers, 1_700_000_000_000)


def _outputs(record: InRecord, now_ms: int = 0) -> Outputs:
    return asyncio.run(outputs_for(record, MAPPINGS, CODEC, "p.", now_ms))


def _case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def test_canonical_records_are_avro_on_their_domain_topic_keyed_by_saga_key() -> None:
    case = _case("stripe/invoice.paid")
    outputs = _outputs(_stored(case))
    [record] = outputs.records
    assert record.topic == "p.q2c.billing.events"
    assert record.key == b"deal-7"  # the correlation id: the saga's partition directly
    model = decode(record.value or b"", topic=record.topic, partition=0, offset=0)
    assert rendered([model]) == golden(case, rendered([model]))  # type: ignore[list-item]
    assert dict(record.headers)["q2c-event-type"] == b"payment-received"


def test_an_untranslatable_record_is_dead_lettered_byte_for_byte() -> None:
    case = _case("salesforce/opportunity-won.cdc")
    stored = _stored(case)
    outputs = _outputs(stored, 1234)
    [record] = outputs.records
    assert record.topic == "p.q2c.native.salesforce.dlq"
    assert (record.key, record.value) == (stored.key, stored.value)
    assert record.headers[: len(stored.headers)] == stored.headers
    letter = DeadLetter(record.topic, 0, 0, record.key, record.value, record.headers, 0)
    assert letter.original_topic == stored.topic
    assert (letter.original_partition, letter.original_offset) == (1, 7)
    assert letter.error_name == "Unmapped"
    assert letter.message.startswith("needs read-back of Opportunity(Id, IsWon, AccountId")
    headers = dict(record.headers)
    assert headers[FIELD_PATH] == b"channel"
    assert headers[READ_BACK].startswith(b"Opportunity(Id, IsWon, AccountId")
    # A replay re-publishes exactly what was stored: the gateway's headers, not the errors.
    assert letter.replay_headers == stored.headers


def test_a_record_without_gateway_headers_is_dead_lettered() -> None:
    raw = InRecord("p.q2c.native.stripe", 0, 3, None, b"{}", (), 0)
    [record] = _outputs(raw).records
    assert record.topic == "p.q2c.native.stripe.dlq" and record.value == b"{}"


def _golden_events(case: Case) -> list[dict[str, Any]]:
    return list(json.loads(case.golden_path.read_text()).get("events", []))


MAPPED = [c for c in CASES if _golden_events(c)]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(MAPPED), min_size=1, max_size=12), st.randoms())
def test_a_redelivery_storm_yields_each_event_id_once(picks: list[Case], rnd: object) -> None:
    deliveries = [c for c in picks for _ in range(3)]
    rnd.shuffle(deliveries)  # type: ignore[attr-defined]
    ids = [
        decode(r.value or b"", topic=r.topic, partition=0, offset=0).envelope.event_id  # type: ignore[attr-defined]
        for i, c in enumerate(deliveries)
        for r in _outputs(_stored(c, i)).records
    ]
    expected = {e["envelope"]["event_id"] for c in picks for e in _golden_events(c)}
    assert set(ids) == expected
    assert len(ids) == 3 * sum(len(_golden_events(c)) for c in picks)
