"""A running gateway + translator for integration tests, and how each platform signs a post."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from engine.api.server import HttpServer
from engine.codec import decode
from engine.connectors.auth import sign_timestamped
from engine.connectors.mapping import MappingFile, parse_mapping
from engine.connectors.readback import Enricher
from engine.connectors.registry import default_mapping_path, load_mappings
from engine.connectors.settings import ConnectorSettings
from engine.connectors.translator import Translator
from engine.contracts import Event as EventModel
from engine.dlq.reader import dlq_topics, read_dead_letters
from engine.dlq.records import DeadLetter
from engine.gateway.app import create_gateway
from engine.gateway.store import NativeStore
from engine.kafka.connection import KafkaConnection
from engine.runtime.store import StoreKey
from engine.saga.model import SagaState
from engine.settings import Settings
from tests.connector_cases import Case
from tests.integration.engine_support import read_topic_values, wait_for_states

STRIPE_SECRET = "whsec_integration"
NETSUITE_SECRET = "ns-integration"
TOKEN = "relay-integration-token"
DYNAMICS_KEY = "dyn-integration-key"
CONNECTOR_SETTINGS = ConnectorSettings(
    stripe_endpoint_secrets=SecretStr(STRIPE_SECRET),
    netsuite_hmac_secret=SecretStr(NETSUITE_SECRET),
    salesforce_relay_token=SecretStr(TOKEN),
    salesforce_organization_id="00D5g000004Q2cAEAS",
    dynamics_webhook_key=SecretStr(DYNAMICS_KEY),
    dynamics_organization_id="b2a6e3f0-1d2c-4e5f-8a9b-0c1d2e3f4a5b",
    sap_bearer_token=SecretStr(TOKEN),
    oracle_bearer_token=SecretStr(TOKEN),
    store_timeout_s=30.0,
)
CANONICAL = ["q2c.crm.events", "q2c.erp.events", "q2c.billing.events", "q2c.masterdata.events"]


@dataclass
class Stack:
    client: httpx.AsyncClient
    translator: Translator


def signed_post(case: Case, body: bytes | None = None) -> tuple[str, bytes, dict[str, str]]:
    """(path with query, body, headers) as the platform would post the fixture."""
    raw = case.body_path.read_bytes() if body is None else body
    headers = dict(case.headers)
    path = f"/ingest/{case.route}"
    now = int(time.time())
    if case.platform == "stripe":
        headers["stripe-signature"] = sign_timestamped(raw, STRIPE_SECRET, now)
    elif case.platform == "netsuite":
        headers["x-q2c-signature"] = sign_timestamped(raw, NETSUITE_SECRET, now)
    elif case.platform == "dynamics":
        path += f"?code={DYNAMICS_KEY}"
    elif case.route != "salesforce/outbound-message":
        headers["authorization"] = f"Bearer {TOKEN}"
    return path, raw, headers


def stripe_mapping_bug() -> dict[str, MappingFile]:
    """The default mappings, but Stripe's reads the invoice reference from a metadata key
    Stripe never sends (`metadata.q2c_ref`): every invoice event is unmapped."""
    text = default_mapping_path("stripe").read_text()
    buggy = parse_mapping(text.replace("metadata.q2c_invoice_reference", "metadata.q2c_ref"), "bug")
    return {**load_mappings(CONNECTOR_SETTINGS), "stripe": buggy}


@contextlib.asynccontextmanager
async def running_stack(
    settings: Settings,
    mappings: dict[str, MappingFile] | None = None,
    enricher: Enricher | None = None,
) -> AsyncIterator[Stack]:
    store = NativeStore(settings, CONNECTOR_SETTINGS.store_timeout_s)
    server = HttpServer(
        create_gateway(store, CONNECTOR_SETTINGS, settings.topic_prefix),
        "127.0.0.1",
        0,
        operator_guard=False,
    )
    await server.start()
    translator = Translator(
        settings, mappings or load_mappings(CONNECTOR_SETTINGS), enricher=enricher
    )
    task = asyncio.create_task(translator.run())
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    try:
        yield Stack(client, translator)
    finally:
        translator.request_stop()
        await asyncio.wait_for(task, 60)
        await client.aclose()
        await server.stop()
        await store.stop()


async def canonical_events(settings: Settings) -> list[EventModel]:
    topics = [settings.topic_prefix + t for t in CANONICAL]
    out = []
    for topic, value in await read_topic_values(settings, topics):
        model = decode(value, topic=topic, partition=0, offset=0)
        if isinstance(model, EventModel):
            out.append(model)
    return out


async def wait_for_events(
    settings: Settings, event_ids: set[str], *, timeout_s: float = 90.0
) -> list[EventModel]:
    """Canonical events, polled until every id in `event_ids` is there (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    events = await canonical_events(settings)
    while not event_ids <= {e.envelope.event_id for e in events} and loop.time() < deadline:
        await asyncio.sleep(0.5)
        events = await canonical_events(settings)
    return events


async def wait_letters(settings: Settings, n: int) -> list[DeadLetter]:
    """The dead letters of every DLQ topic, polled until there are `n` (bounded)."""
    options = KafkaConnection.from_settings(settings).options()
    for _ in range(180):
        letters = await read_dead_letters(options, dlq_topics(settings.topic_prefix))
        if len(letters) >= n:
            return letters
        await asyncio.sleep(0.5)
    return letters


async def wait_state(settings: Settings, deal: str, state: str) -> SagaState:
    """The deal's quote-to-cash saga once it is in `state` (bounded; fails naming the states)."""

    def reached(all_states: dict[StoreKey, SagaState]) -> bool:
        return any(k == deal and s.state == state for (_, k), s in all_states.items())

    found = await wait_for_states(settings, reached, timeout_s=90)
    assert reached(found), {k: s.state for (_, k), s in found.items()}
    return next(s for (t, k), s in found.items() if k == deal and t == "quote-to-cash")
