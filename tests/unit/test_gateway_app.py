"""Gateway response rules without Kafka: 401 stores nothing, 413 before reading on, 503 when the
store fails, the platform's acknowledgement only after the store acknowledged."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr

from engine.api.refusals import RefusalLedger
from engine.connectors.native import from_parts
from engine.connectors.salesforce.inbound import ACK
from engine.connectors.settings import ConnectorSettings
from engine.connectors.stripe.inbound import sign
from engine.gateway.app import create_gateway
from engine.gateway.store import StoreUnavailable
from engine.kafka.records import Delivered, OutRecord
from engine.ops.audit import AuditRecord
from tests.connector_cases import FIXTURES

NOW = datetime(2025, 12, 1, 12, 0, tzinfo=UTC)
SECRET = "whsec_gateway_test"
STRIPE = (FIXTURES / "stripe" / "invoice.finalized.json").read_bytes()
OM = (FIXTURES / "salesforce" / "outbound-message.xml").read_bytes()


class FakeStore:
    def __init__(self, *, up: bool = True) -> None:
        self.up = up
        self.records: list[OutRecord] = []

    async def store(self, record: OutRecord) -> Delivered:
        if not self.up:
            raise StoreUnavailable("down")
        self.records.append(record)
        return Delivered(record.topic, 0, len(self.records) - 1)

    async def ready(self) -> bool:
        return self.up


def _client(
    store: FakeStore, refusals: RefusalLedger | None = None, **settings: object
) -> httpx.AsyncClient:
    connector_settings = ConnectorSettings(
        stripe_endpoint_secrets=SecretStr(SECRET),
        salesforce_organization_id="00D5g000004Q2cAEAS",
        max_body_bytes=64 * 1024,
        **settings,  # type: ignore[arg-type]
    )
    app = create_gateway(store, connector_settings, "tp.", clock=lambda: NOW, refusals=refusals)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


def _signed(body: bytes = STRIPE) -> dict[str, str]:
    return {
        "stripe-signature": sign(body, SECRET, int(NOW.timestamp())),
        "content-type": "application/json",
    }


async def test_a_stored_request_is_acknowledged_and_kept_byte_for_byte() -> None:
    store = FakeStore()
    async with _client(store) as client:
        response = await client.post("/ingest/stripe", content=STRIPE, headers=_signed())
    assert response.status_code == 200
    [record] = store.records
    assert record.topic == "tp.q2c.native.stripe"
    assert record.value == STRIPE
    assert record.key == b"evt_1QfinA2eZvKYlo2C0aB1cD2e"
    stored = from_parts(record.value, record.headers)
    assert (stored.platform, stored.route, stored.received_at) == ("stripe", "stripe", NOW)
    assert stored.headers["stripe-signature"] == _signed()["stripe-signature"]


async def test_a_bad_signature_is_401_and_nothing_is_stored() -> None:
    store = FakeStore()
    headers = _signed()
    async with _client(store) as client:
        response = await client.post("/ingest/stripe", content=STRIPE + b" ", headers=headers)
        metrics = (await client.get("/metrics")).text
    assert response.status_code == 401
    assert store.records == []
    assert (
        'q2c_gateway_requests_rejected_total{platform="stripe",reason="bad-signature",route="stripe"}'
        in metrics
    )


async def test_a_flood_of_refused_requests_is_one_audit_summary() -> None:
    written: list[AuditRecord] = []

    async def write(record: AuditRecord) -> None:
        written.append(record)

    refusals = RefusalLedger(write, 3600.0, surface="gateway", metric=None)
    headers = _signed()
    async with _client(FakeStore(), refusals) as client:
        for _ in range(30):
            response = await client.post("/ingest/stripe", content=STRIPE + b" ", headers=headers)
            assert response.status_code == 401
    assert written == []  # nothing written per request
    await refusals.flush()
    [summary] = written
    assert (summary.action, summary.via, summary.outcome) == (
        "gateway.refused",
        "gateway",
        "denied:summary",
    )
    assert summary.details == {
        "total": 30,
        "counts": [
            {"reason": "stripe: bad-signature", "route": "POST /ingest/stripe", "count": 30}
        ],
    }
    assert headers["stripe-signature"] not in summary.to_bytes().decode()


async def test_an_oversized_body_is_413_and_nothing_is_stored() -> None:
    store = FakeStore()
    big = b"{" + b" " * (70 * 1024) + b"}"
    async with _client(store) as client:
        response = await client.post("/ingest/stripe", content=big, headers=_signed(big))
    assert response.status_code == 413
    assert store.records == []


async def test_kafka_unavailable_is_503_not_an_acknowledgement() -> None:
    store = FakeStore(up=False)
    async with _client(store) as client:
        response = await client.post("/ingest/stripe", content=STRIPE, headers=_signed())
        ready = await client.get("/ready")
    assert response.status_code == 503
    assert ready.status_code == 503


async def test_outbound_messages_get_the_soap_ack_after_storing() -> None:
    store = FakeStore()
    async with _client(store) as client:
        response = await client.post(
            "/ingest/salesforce/outbound-message", content=OM, headers={"content-type": "text/xml"}
        )
    assert response.status_code == 200
    assert response.content == ACK
    assert response.headers["content-type"].startswith("text/xml")
    assert len(store.records) == 1


async def test_credentials_are_never_stored() -> None:
    store = FakeStore()
    dynamics = (FIXTURES / "dynamics" / "lose.json").read_bytes()
    async with _client(
        store,
        dynamics_webhook_key=SecretStr("dyn-key"),
        dynamics_organization_id="b2a6e3f0-1d2c-4e5f-8a9b-0c1d2e3f4a5b",
    ) as client:
        response = await client.post(
            "/ingest/dynamics?code=dyn-key",
            content=dynamics,
            headers={"content-type": "application/json", "authorization": "Bearer x"},
        )
    assert response.status_code == 200
    [record] = store.records
    assert all(b"dyn-key" not in v and k != "q2c-native-h-authorization" for k, v in record.headers)


@pytest.mark.parametrize("path", ["/ingest/nowhere", "/ingest/salesforce"])
async def test_unknown_routes_are_404(path: str) -> None:
    async with _client(FakeStore()) as client:
        assert (await client.post(path, content=b"{}")).status_code == 404


async def test_sap_webhook_validation_handshake() -> None:
    async with _client(FakeStore()) as client:
        response = await client.options(
            "/ingest/sap", headers={"WebHook-Request-Origin": "http://127.0.0.1:8443"}
        )
    assert response.status_code == 200
    assert response.headers["webhook-allowed-origin"] == "http://127.0.0.1:8443"


async def test_header_credentials_are_refused_before_the_body_is_read() -> None:
    # An oversized body without credentials is a 401, not a 413: refused on its headers.
    store = FakeStore()
    big = b"{" + b" " * (70 * 1024) + b"}"
    stale = {"stripe-signature": sign(big, SECRET, int(NOW.timestamp()) - 3600)}
    async with _client(store, sap_bearer_token=SecretStr("sap-token")) as client:
        no_token = await client.post("/ingest/sap", content=big)
        stale_signature = await client.post("/ingest/stripe", content=big, headers=stale)
        metrics = (await client.get("/metrics")).text
    assert (no_token.status_code, stale_signature.status_code) == (401, 401)
    assert store.records == []
    assert 'platform="stripe",reason="stale-timestamp",route="stripe"' in metrics
