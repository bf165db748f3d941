"""Gateway + translator on the real broker: every platform's fixtures are stored as they came
and become their golden canonical events; refused requests store nothing; redeliveries have
no second effect on a saga; a mapping bug dead-letters the raw request and a replay after the
fix completes it; Kafka unreachable means 503."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from engine.contracts import Event as EventModel
from engine.dlq.filters import DlqFilter
from engine.dlq.reader import dlq_topics, read_dead_letters
from engine.dlq.replay import replay
from engine.gateway.app import create_gateway
from engine.gateway.store import NativeStore
from engine.kafka.client import end_offsets, topic_partitions
from engine.kafka.connection import KafkaConnection
from engine.runtime.app import Engine
from engine.settings import Settings
from engine.workload.histories import HistoryOptions, closed_won, master_data
from tests.connector_cases import Case, all_cases, golden, rendered
from tests.integration.engine_support import (
    cli,
    engine_settings,
    publish_all,
    read_topic_values,
)
from tests.integration.gateway_support import (
    CONNECTOR_SETTINGS,
    canonical_events,
    running_stack,
    signed_post,
    stripe_mapping_bug,
    wait_for_events,
    wait_letters,
    wait_state,
)

pytestmark = pytest.mark.kafka
CASES = all_cases()


def _golden_ids(cases: Iterable[Case]) -> set[str]:
    ids: set[str] = set()
    for case in cases:
        expected = json.loads(case.golden_path.read_text())
        ids |= {e["envelope"]["event_id"] for e in expected.get("events", [])}
    return ids


async def _native_count(settings: Settings, platform: str) -> int:
    topic = f"{settings.topic_prefix}q2c.native.{platform}"
    options = KafkaConnection.from_settings(settings).options()
    return sum((await end_offsets(options, await topic_partitions(options, [topic]))).values())


async def test_every_platform_fixture_is_stored_raw_and_becomes_its_golden_events(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    async with running_stack(settings) as stack:
        for case in CASES:
            path, body, headers = signed_post(case)
            response = await stack.client.post(path, content=body, headers=headers)
            assert response.status_code == 200, (case.name, response.text)
        expected = _golden_ids(CASES)
        events = await wait_for_events(settings, expected)
    assert expected <= {e.envelope.event_id for e in events}
    # Stored byte for byte on the native topics.
    natives = {
        value
        for _, value in await read_topic_values(
            settings,
            [f"{settings.topic_prefix}q2c.native.{p}" for p in {c.platform for c in CASES}],
        )
    }
    assert {c.body_path.read_bytes() for c in CASES} <= natives
    # Every fixture whose golden file is "unmapped" is in its native dead-letter topic.
    letters = await read_dead_letters(
        KafkaConnection.from_settings(settings).options(), dlq_topics(settings.topic_prefix)
    )
    unmapped = {
        c.body_path.read_bytes()
        for c in CASES
        if "unmapped" in json.loads(c.golden_path.read_text())
    }
    assert unmapped == {dl.value for dl in letters}
    assert all(dl.errors["field.path"] for dl in letters)


async def test_a_bad_signature_is_refused_and_nothing_is_stored(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    stripe = next(c for c in CASES if c.name == "stripe/invoice.paid")
    netsuite = next(c for c in CASES if c.name == "netsuite/job-created")
    async with running_stack(settings) as stack:
        for case in (stripe, netsuite):
            path, body, headers = signed_post(case)
            tampered = body.replace(b"in_1Qfin", b"in_9Qfin").replace(b"deal-7", b"deal-9")
            response = await stack.client.post(path, content=tampered, headers=headers)
            assert response.status_code == 401
        metrics = (await stack.client.get("/metrics")).text
    assert await _native_count(settings, "stripe") == 0
    assert await _native_count(settings, "netsuite") == 0
    assert 'platform="netsuite",reason="bad-signature"' in metrics


async def test_native_events_drive_a_saga_and_redeliveries_have_no_second_effect(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    deal = f"GW-{unique}"
    opts = HistoryOptions(milestones=2)
    await publish_all(settings, [*master_data([deal]), closed_won(deal, opts)])
    engine = Engine(settings, worker_id="gw-1")
    await engine.start()
    try:
        await wait_state(settings, deal, "creating_project")
        cases = {c.name: c for c in CASES}
        created = _with_deal(cases["netsuite/job-created"], deal)
        activated = _with_deal(cases["netsuite/job-activated"], deal)
        async with running_stack(settings) as stack:
            for _ in range(3):  # the script's retry of the same afterSubmit event
                path, body, headers = signed_post(cases["netsuite/job-created"], created)
                assert (
                    await stack.client.post(path, content=body, headers=headers)
                ).status_code == 200
            await wait_state(settings, deal, "awaiting_activation")
            # All three are canonical events (same id) before the next step is sent: keyed by
            # the deal, the activation then follows them on the same partition.
            copies = await _wait_count(settings, "project-created", 3)
            assert len({e.envelope.event_id for e in copies}) == 1
            path, body, headers = signed_post(cases["netsuite/job-activated"], activated)
            assert (await stack.client.post(path, content=body, headers=headers)).status_code == 200
            final = await wait_state(settings, deal, "scheduling_billing")
    finally:
        await engine.stop()
    project_created = [
        h for h in final.history if getattr(h, "event_type", None) == "project-created"
    ]
    assert len(project_created) == 1
    assert not [h for h in final.history if "ignored" in str(getattr(h, "note", "") or "")]
    assert await _native_count(settings, "netsuite") == 4


async def _wait_count(settings: Settings, event_type: str, n: int) -> list[EventModel]:
    for _ in range(180):
        found = [e for e in await canonical_events(settings) if event_type == e.EVENT_TYPE]
        if len(found) >= n:
            return found
        await asyncio.sleep(0.5)
    raise AssertionError(f"fewer than {n} {event_type} events")


def _with_deal(case: Case, deal: str) -> bytes:
    return case.body_path.read_bytes().replace(b"deal-7", deal.encode())


async def test_a_mapping_bug_dead_letters_the_raw_request_and_a_replay_after_the_fix_completes(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    case = next(c for c in CASES if c.name == "stripe/invoice.finalized")
    # The bug: the firm's mapping reads the reference from a metadata key Stripe never sends.
    async with running_stack(settings, stripe_mapping_bug()) as stack:
        path, body, headers = signed_post(case)
        assert (await stack.client.post(path, content=body, headers=headers)).status_code == 200
        letters = await wait_letters(settings, 1)
    [letter] = letters
    assert letter.value == body  # byte for byte
    assert letter.errors["field.path"] == "data.object.metadata.q2c_ref"
    listed = json.loads(await asyncio.to_thread(cli, settings, "dlq", "list", "--json", user="ops"))
    [summary] = listed["records"]
    assert summary["error_class"] == "engine.connectors.protocol.Unmapped"
    assert summary["message"] == "required value is missing (field data.object.metadata.q2c_ref)"
    assert summary["original_topic"] == f"{settings.topic_prefix}q2c.native.stripe"

    result = await replay(settings, DlqFilter(), by="ops")
    assert result.replayed == 1
    async with running_stack(settings):  # the fixed (default) mapping
        events = await wait_for_events(settings, _golden_ids([case]))
    assert _golden_ids([case]) <= {e.envelope.event_id for e in events}
    assert rendered([e for e in events if e.envelope.event_id in _golden_ids([case])]) == golden(
        case, rendered([e for e in events if e.envelope.event_id in _golden_ids([case])])
    )


async def test_kafka_unreachable_is_503_and_nothing_is_acknowledged() -> None:
    import httpx

    # A port nothing listens on: the producer cannot connect within the store timeout.
    settings = Settings(bootstrap_servers="127.0.0.1:9", topic_prefix="down.")
    store = NativeStore(settings, 2.0)
    app = create_gateway(store, CONNECTOR_SETTINGS, settings.topic_prefix)
    case = next(c for c in CASES if c.name == "stripe/invoice.paid")
    path, body, headers = signed_post(case)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        response = await client.post(path, content=body, headers=headers)
        ready = await client.get("/ready")
    await store.stop()
    assert response.status_code == 503
    assert ready.status_code == 503
