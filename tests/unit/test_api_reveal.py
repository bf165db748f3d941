"""Saga detail through the API: protected data masked, revealed only to an operator who gives a
reason (audited before the answer, who/what/why, never the values), and every read of a saga
audited in aggregate rather than one Kafka write per request."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError

from engine.api.config import ApiSettings
from engine.api.hardening import harden
from engine.api.ledger import SummaryLedger
from engine.api.reads import READ_ACTION, read_summary
from engine.ops.audit import AuditRecord
from engine.security.protection import MASK
from engine.security.reveal import SAGA_REVEAL
from tests.unit.api_fakes import OPERATOR, VIEWER, FakeOperations, make_app

V = {"Authorization": f"Bearer {VIEWER}"}
O = {"Authorization": f"Bearer {OPERATOR}"}  # noqa: E741
# What the fixtures' deals hold beyond their safe fields: the account's name and tax
# registration.
SECRETS = ("Acme GmbH", "DE123")


class AuditDown(FakeOperations):
    async def audit(self, record: AuditRecord) -> None:
        raise KafkaConnectionError("down")


def client_for(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 5555))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")


def guarded(ops: FakeOperations) -> tuple[Any, Any]:
    """The served app (behind the guard layers) and its context."""
    app = make_app(ops)
    served, _ledger = harden(app, ApiSettings(api_refusal_audit_interval_s=3600))
    return served, app.state.q2c


def q2c_data(body: dict[str, Any]) -> dict[str, Any]:
    (q2c,) = [s for s in body["sagas"] if s["saga_type"] == "quote-to-cash"]
    data: dict[str, Any] = q2c["data"]
    return data


async def test_saga_detail_masks_protected_data_for_every_caller() -> None:
    served, _ctx = guarded(FakeOperations())
    async with client_for(served) as c:
        for headers in (V, O):
            answer = await c.get("/api/v1/sagas/D-2", headers=headers)
            assert answer.status_code == 200 and answer.json()["revealed"] is False
            data = q2c_data(answer.json())
            assert data["deal_id"] == "D-2" and data["project_id"] == "P-1"  # safe: in clear
            assert data["account"] == MASK and data["contract"] == MASK
            assert not any(s in answer.text for s in SECRETS)


async def test_an_operator_reveals_with_a_reason_and_the_reveal_is_audited_first() -> None:
    ops = FakeOperations()
    served, _ctx = guarded(ops)
    async with client_for(served) as c:
        why = "customer dispute 4711"
        shown = await c.post("/api/v1/sagas/D-2/reveal", json={"why": why}, headers=O)
        assert shown.status_code == 200, shown.text
        assert shown.json()["revealed"] is True
        data = q2c_data(shown.json())
        assert data["account"]["tax_registration"] == "DE123"
        assert data["account"]["name"] == "Acme GmbH"
    (record,) = [r for r in ops.notes if r.action == SAGA_REVEAL]
    assert record.by.startswith("operator:") and OPERATOR not in record.by
    assert (record.target, record.via, record.details["why"]) == ("D-2", "api", why)
    assert "account" in record.details["fields"]["quote-to-cash"]
    assert not any(s in record.to_bytes().decode() for s in SECRETS)  # names, not values


async def test_a_reveal_needs_the_operator_role_and_a_reason() -> None:
    ops = FakeOperations()
    served, _ctx = guarded(ops)
    async with client_for(served) as c:
        viewer = await c.post("/api/v1/sagas/D-2/reveal", json={"why": "curious"}, headers=V)
        assert viewer.status_code == 403 and "Acme" not in viewer.text
        for body in ({}, {"why": ""}, {"why": "   "}):
            refused = await c.post("/api/v1/sagas/D-2/reveal", json=body, headers=O)
            assert refused.status_code == 422 and "Acme" not in refused.text
            assert refused.json()["detail"][0]["loc"] == ["body", "why"]
        missing = await c.post("/api/v1/sagas/nope/reveal", json={"why": "x"}, headers=O)
        assert missing.status_code == 404
    assert not [r for r in ops.notes if r.action == SAGA_REVEAL]  # nothing was revealed


async def test_no_reveal_when_the_audit_cannot_be_written() -> None:
    served, _ctx = guarded(AuditDown())
    async with client_for(served) as c:
        answer = await c.post("/api/v1/sagas/D-2/reveal", json={"why": "audit down"}, headers=O)
    assert answer.status_code == 503 and "Acme" not in answer.text and "DE123" not in answer.text


async def test_saga_reads_are_audited_in_aggregate_per_caller() -> None:
    ops = FakeOperations()
    served, ctx = guarded(ops)
    async with client_for(served) as c:
        for _ in range(30):
            assert (await c.get("/api/v1/sagas/D-1", headers=V)).status_code == 200
        assert (await c.get("/api/v1/sagas/nope", headers=V)).status_code == 404
        assert (await c.get("/api/v1/deals/D-2/timeline", headers=O)).status_code == 200
        assert (await c.get("/api/v1/deals/D-2/invoices", headers=O)).status_code == 200
    assert ops.notes == []  # 33 reads, no Kafka write yet
    await ctx.reads.close()
    reads = {r.by.split(":")[0]: r for r in ops.notes if r.action == READ_ACTION}
    assert set(reads) == {"viewer", "operator"}
    assert reads["viewer"].count == 31
    assert reads["viewer"].details["reads"] == [
        {"view": "detail", "saga_key": "D-1", "outcome": "done", "count": 30},
        {"view": "detail", "saga_key": "nope", "outcome": "not-found", "count": 1},
    ]
    assert [(r["view"], r["saga_key"]) for r in reads["operator"].details["reads"]] == [
        ("invoices", "D-2"),
        ("timeline", "D-2"),
    ]
    assert VIEWER not in json.dumps([r.to_bytes().decode() for r in ops.notes])


async def test_a_full_summary_is_written_before_its_interval_ends() -> None:
    written: list[AuditRecord] = []

    async def write(record: AuditRecord) -> None:
        written.append(record)

    ledger = SummaryLedger(write, 3600, read_summary, name="test-reads", max_keys=3)
    ledger.start()
    try:
        for key in ("D-1", "D-2", "D-3"):
            ledger.count(("viewer:ab", "detail", key, "done"))
        for _ in range(200):  # bounded: until the loop has flushed
            if written:
                break
            await asyncio.sleep(0.01)
    finally:
        await ledger.close()
    (record,) = written
    assert [r["saga_key"] for r in record.details["reads"]] == ["D-1", "D-2", "D-3"]


@pytest.mark.parametrize("path", ["/api/v1/sagas/D-2", "/api/v1/sagas/D-2/reveal"])
async def test_reads_need_a_token(path: str) -> None:
    served, _ctx = guarded(FakeOperations())
    async with client_for(served) as c:
        answer = await c.request(
            "POST" if path.endswith("reveal") else "GET", path, json={"why": "x"}
        )
    assert answer.status_code == 401 and "Acme" not in answer.text
