"""The bench's generated traffic: complete, realistic and identical for every system."""

from __future__ import annotations

from engine.bench.workload import build_records, deal_ids, events_per_deal
from engine.codec import decode
from engine.contracts import Event
from engine.workload.histories import HistoryOptions


def test_each_deal_contributes_its_whole_lifecycle_in_order() -> None:
    ids = deal_ids("t", "w", 3)
    records = build_records(ids)
    assert len(records) == 3 * events_per_deal()
    first = [
        decode(r.value, topic=r.topic, partition=0, offset=0)
        for r in records
        if r.key == ids[0].encode()
    ]
    types = [m.envelope.event_type for m in first if isinstance(m, Event)]
    assert types[:2] == ["closed-won", "account-validated"]
    assert types[-1] == "payment-received"
    assert len({r.event_id for r in records}) == len(records)


def test_records_carry_the_publisher_headers_and_are_deterministic() -> None:
    opts = HistoryOptions()  # a fixed base time: same deals, same bytes
    a = build_records(deal_ids("t", "w", 2), opts)
    b = build_records(deal_ids("t", "w", 2), opts)
    assert [r.value for r in a] == [r.value for r in b]
    assert all(dict(r.headers)["q2c-event-id"] == r.event_id.encode() for r in a)
    assert {r.topic.split(".")[1] for r in a} == {"crm", "erp", "billing", "masterdata"}
