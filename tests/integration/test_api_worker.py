"""The worker's API on a real broker: probes, roles, a deal's saga and invoices, dead letters
with replay (audited), and one trace followed from a closed-won to its issue-invoice command."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest

from engine.codec.headers import new_traceparent
from engine.kafka.client import Producer, read_partition, topic_partitions
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import InRecord, OutRecord
from engine.ops.store import read_audit
from engine.runtime.names import TARGETS, TopicNames
from tests.integration.observability_support import (
    OPERATOR,
    VIEWER,
    EngineThread,
    all_completed,
    deals,
    demo_events,
    request,
    status_of,
)

pytestmark = pytest.mark.kafka
DEALS = deals(3, "API")


@pytest.fixture(scope="module")
def engine(kafka_bootstrap: str) -> Iterator[EngineThread]:
    """One engine for the module: 3 deals, the first published under a single trace."""
    thread = EngineThread(kafka_bootstrap)
    try:
        thread.start()
        master, _ = demo_events(DEALS)
        thread.publish(master)
        _, first = demo_events(DEALS[:1])
        # Platforms that propagate W3C trace context keep the deal's trace on their replies.
        # The engine's account validator starts a new trace for account-validated, and events
        # parked before it would be released in that trace: so the replies follow it.
        thread.publish(first[:1], traceparent=TRACE)
        thread.wait_for(
            "/api/v1/sagas?saga_type=quote-to-cash&state=creating_project",
            lambda page: [i["saga_key"] for i in page["items"]] == DEALS[:1],
        )
        thread.publish(first[1:], traceparent=TRACE)
        _, others = demo_events(DEALS[1:])
        thread.publish(others)
        thread.wait_for("/api/v1/overview", all_completed(len(DEALS)))
        yield thread
    finally:
        thread.stop()


TRACE = new_traceparent()


def test_probes_and_roles(engine: EngineThread) -> None:
    assert request(engine.base + "/health")["status"] == "alive"
    ready = request(engine.base + "/ready")
    assert ready["status"] == "ready" and ready["partitions"]
    assert status_of(engine.base + "/api/v1/overview", None) == 401
    assert status_of(engine.base + "/api/v1/overview", "wrong") == 401
    replay = {"topic": "q2c.crm.events.dlq", "partition": 0, "offset": 0}
    assert status_of(engine.base + "/api/v1/dlq/replay", VIEWER, "POST", replay) == 403


def test_saga_invoices_and_lists(engine: EngineThread) -> None:
    deal = DEALS[1]
    found = engine.get(f"/api/v1/sagas/{deal}")
    types = {s["saga_type"]: s for s in found["sagas"]}
    q2c = types["quote-to-cash"]
    assert q2c["state"] == "completed"
    # Replies may arrive (and be parked) before the closed-won; its transition is the first.
    transitions = [h for h in q2c["history"] if h["from_state"] != h["to_state"]]
    assert transitions[0]["event_type"] == "closed-won" and q2c["history"][-1]["at"]
    invoices = engine.get(f"/api/v1/deals/{deal}/invoices")
    assert invoices["all_paid"] and [i["milestone_id"] for i in invoices["invoices"]] == [
        "M1",
        "M2",
    ]
    page = engine.get("/api/v1/sagas?saga_type=quote-to-cash&state=completed&limit=2")
    assert page["total"] == len(DEALS) and len(page["items"]) == 2
    complete = engine.get("/api/v1/sagas?saga_type=quote-to-cash&source=changelog")
    assert {i["saga_key"] for i in complete["items"]} == set(DEALS)
    assert engine.get("/api/v1/exceptions")["items"] == []


def test_the_maintained_overview_is_the_one_counted_from_the_changelog(
    engine: EngineThread,
) -> None:
    """The local overview comes from tallies the stores keep as states change; the changelog
    one is counted from every state read back."""
    local = engine.get("/api/v1/overview")
    whole = engine.get("/api/v1/overview?source=changelog")
    for part in ("sagas", "by_state", "funnel", "cycle_times"):
        assert local[part] == whole[part], part
    funnel = {f["stage"]: f["count"] for f in local["funnel"]}
    assert funnel["closed_won"] == funnel["completed"] == len(DEALS)
    assert all(c["count"] >= len(DEALS) for c in local["cycle_times"].values())


def test_dead_letter_summary_and_audited_replay(engine: EngineThread) -> None:
    assert engine.settings is not None
    settings = engine.settings
    names = TopicNames(settings.topic_prefix)

    async def poison() -> None:
        producer = Producer(KafkaConnection.from_settings(settings).options())
        await producer.start()
        try:
            await producer.send_and_wait(
                OutRecord(
                    names.events("crm"),
                    b"API-X",
                    b"\x00garbage",
                    (("q2c-event-type", b"closed-won"),),
                )
            )
        finally:
            await producer.stop()

    engine.call(poison())
    summary = engine.wait_for("/api/v1/dlq", lambda b: b["total"] >= 1, timeout_s=60)
    assert summary["by_topic"] == {"q2c.crm.events.dlq": 1}
    (letter,) = summary["recent"]
    assert letter["original_topic"] == "q2c.crm.events" and letter["stage"] == "decode"
    body = {k: letter[k] for k in ("topic", "partition", "offset")}
    result = request(engine.base + "/api/v1/dlq/replay", token=OPERATOR, method="POST", body=body)
    assert result["replayed_to"] == "q2c.crm.events"
    # Still garbage: dead-lettered again, which shows the replay really went back to the input.
    engine.wait_for("/api/v1/dlq", lambda b: b["total"] >= 2, timeout_s=60)
    # The records of `q2c dlq replay`, read back by the same reader, marked as the API's.
    records = engine.call(
        read_audit(KafkaConnection.from_settings(settings).options(), settings.topic_prefix)
    )
    assert any(r.action == "dlq.replay" and r.via == "api" and r.outcome == "done" for r in records)
    # Refused calls cost no Kafka write each: counted at once, audited as one summary per
    # interval (or at shutdown).
    assert status_of(engine.base + "/api/v1/dlq/replay", VIEWER, "POST", body) == 403
    assert not any(r.outcome.startswith("denied:4") for r in records)
    metrics = urllib.request.urlopen(engine.base + "/metrics", timeout=10).read().decode()
    assert 'q2c_api_refused_total{reason="forbidden"}' in metrics
    assert all(r.by != OPERATOR for r in records)


def test_one_trace_from_closed_won_to_issue_invoice(engine: EngineThread) -> None:
    assert engine.settings is not None
    names = TopicNames(engine.settings.topic_prefix)
    trace_id = TRACE.split("-")[1]
    traced = engine.call(_command_traces(engine, names))
    ours = {k: tp for k, tp in traced.items() if k[0] == DEALS[0]}
    issue = [tp for (deal, ctype), tp in ours.items() if ctype == "issue-invoice"]
    assert issue and all(tp.split("-")[1] == trace_id for tp in issue)
    assert ours[(DEALS[0], "validate-account")].split("-")[1] == trace_id
    others = [tp for (deal, _), tp in traced.items() if deal != DEALS[0]]
    assert others and all(tp.split("-")[1] != trace_id for tp in others)


async def _command_traces(engine: EngineThread, names: TopicNames) -> dict[tuple[str, str], str]:
    """(saga key, command type) -> traceparent header of every command record."""
    assert engine.settings is not None
    options = KafkaConnection.from_settings(engine.settings).options()
    parts = await topic_partitions(options, [names.commands(t) for t in TARGETS])
    out: dict[tuple[str, str], str] = {}

    def keep(rec: InRecord) -> None:
        key = (rec.key or b"").decode()
        ctype = (rec.header("q2c-event-type") or b"").decode()
        out[(key, ctype)] = (rec.header("traceparent") or b"").decode()

    await read_partition(options, parts, keep)
    return out
