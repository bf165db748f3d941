"""The API's guard layers, as an attacker meets them: nothing read before authentication,
bounded bodies and answers, refusals counted but audited in aggregate, no value echoed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from engine.api.auth import TokenAuthority, digest
from engine.api.config import ApiSettings
from engine.api.hardening import harden
from engine.api.refusals import RefusalLedger
from tests.unit.api_fakes import OPERATOR, VIEWER, FakeOperations, make_app

V = {"Authorization": f"Bearer {VIEWER}"}
O = {"Authorization": f"Bearer {OPERATOR}"}  # noqa: E741
REPLAY = "/api/v1/dlq/replay"
CANARY = "CANARY-4f1d9e"


def api(**overrides: Any) -> ApiSettings:
    return ApiSettings(**overrides)


def guarded_app(ops: FakeOperations, **overrides: Any) -> tuple[Any, RefusalLedger]:
    return harden(make_app(ops), api(**overrides))


def client_for(app: Any, host: str = "10.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 5555))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")


def refused(reason: str) -> float:
    return REGISTRY.get_sample_value("q2c_api_refused_total", {"reason": reason}) or 0.0


class Flood:
    """An ASGI `receive` that would stream `chunks` of 1 MiB, counting what was pulled."""

    def __init__(self, chunks: int) -> None:
        self.left = chunks
        self.pulled = 0

    async def __call__(self) -> dict[str, Any]:
        self.left -= 1
        self.pulled += 1 << 20
        return {"type": "http.request", "body": b"x" * (1 << 20), "more_body": self.left > 0}


async def call(
    app: Any, path: str, headers: dict[str, str], receive: Flood
) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("10.0.0.9", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    return sent


async def test_an_anonymous_200_mb_post_is_refused_without_reading_the_body() -> None:
    ops = FakeOperations()
    app, _ = guarded_app(ops)
    flood = Flood(200)
    sent = await call(app, REPLAY, {"content-type": "application/json"}, flood)
    assert sent[0]["status"] == 401 and flood.pulled == 0
    # An operator's oversized body: read up to the limit only, then 413.
    flood = Flood(200)
    sent = await call(app, REPLAY, {"authorization": f"Bearer {OPERATOR}"}, flood)
    assert sent[0]["status"] == 413 and flood.pulled <= 2 << 20
    assert ops.calls == []


async def test_every_route_has_a_body_limit() -> None:
    ops = FakeOperations()
    app, _ = guarded_app(ops, api_max_body_bytes=1000)
    async with client_for(app) as c:
        big = {"topic": "q2c.crm.events.dlq", "partition": 0, "offset": 0, "pad": "x" * 2000}
        assert (await c.post(REPLAY, json=big, headers=O)).status_code == 413
        assert (
            await c.request("GET", "/api/v1/overview", content=b"y" * 2000, headers=V)
        ).status_code == 413
        small = {"topic": "q2c.crm.events.dlq", "partition": 0, "offset": 0}
        assert (await c.post(REPLAY, json=small, headers=O)).status_code == 200


async def test_refusals_are_counted_each_but_audited_once_per_interval() -> None:
    ops = FakeOperations()
    app, ledger = guarded_app(
        ops, api_refusal_audit_interval_s=3600, api_auth_failures_per_minute=1000
    )
    before = refused("unauthenticated"), refused("forbidden")
    async with client_for(app) as c:
        for i in range(50):
            await c.post(REPLAY, json={"topic": "t", "partition": 0, "offset": i})
        for _ in range(10):
            assert (await c.post(REPLAY, json={}, headers=V)).status_code == 403
    assert refused("unauthenticated") - before[0] == 50
    assert refused("forbidden") - before[1] == 10
    assert ops.audits == []  # 60 refusals, no Kafka write yet
    await ledger.close()
    (summary,) = ops.audits
    assert (summary["action"], summary["outcome"]) == ("api.refused", "denied:summary")


async def test_the_loop_writes_one_summary_per_interval_and_nothing_when_quiet() -> None:
    written: list[Any] = []

    async def write(record: Any) -> None:
        written.append(record)

    ledger = RefusalLedger(write, 0.05)
    ledger.start()
    try:
        for _ in range(30):
            ledger.refuse("unauthenticated", "POST /api/v1/dlq/replay")
        for _ in range(200):  # bounded: until the loop has flushed
            if written:
                break
            await asyncio.sleep(0.01)
        for _ in range(10):  # several quiet intervals: nothing more is written
            await asyncio.sleep(0.05)
    finally:
        await ledger.close()
    (record,) = written
    assert record.details["total"] == 30 and record.outcome == "denied:summary"
    assert record.details["counts"] == [
        {"reason": "unauthenticated", "route": "POST /api/v1/dlq/replay", "count": 30}
    ]


async def test_failed_authentications_are_rate_limited_per_client() -> None:
    app, _ = guarded_app(FakeOperations(), api_auth_failures_per_minute=5)
    async with client_for(app, "10.0.0.66") as attacker, client_for(app, "10.0.0.7") as other:
        codes = [
            (
                await attacker.get(
                    "/api/v1/overview", headers={"Authorization": f"Bearer guess{i}"}
                )
            ).status_code
            for i in range(8)
        ]
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
        # Even the right token is turned away from that client for now; others are not.
        assert (await attacker.get("/api/v1/overview", headers=V)).status_code == 429
        assert (await other.get("/api/v1/overview", headers=V)).status_code == 200


async def test_operator_route_answers_503_in_bounded_time_when_kafka_hangs() -> None:
    class Hanging(FakeOperations):
        async def replay(self, topic: str, partition: int, offset: int, actor: str) -> Any:
            await asyncio.Event().wait()  # Kafka never answers

        async def dlq_summary(self) -> dict[str, Any]:
            await asyncio.Event().wait()
            return {}

    app, _ = guarded_app(Hanging(), api_deadline_s=0.2)
    async with client_for(app) as c:
        body = {"topic": "q2c.crm.events.dlq", "partition": 0, "offset": 0}
        assert (await c.post(REPLAY, json=body, headers=O)).status_code == 503
        assert (await c.get("/api/v1/dlq", headers=V)).status_code == 503


async def test_422_names_field_and_rule_not_the_value() -> None:
    app, _ = guarded_app(FakeOperations())
    async with client_for(app) as c:
        body = {"topic": CANARY * 100, "partition": CANARY, "offset": -1}
        answer = await c.post(REPLAY, json=body, headers=O)
        assert answer.status_code == 422
        assert CANARY not in answer.text and len(answer.content) < 1000
        problems = {tuple(d["loc"]): d["type"] for d in answer.json()["detail"]}
        assert problems == {
            ("body", "partition"): "int_parsing",
            ("body", "offset"): "greater_than_equal",
        }
        bad_json = await c.post(
            REPLAY,
            content=b'{"topic": "' + CANARY.encode(),
            headers={**O, "content-type": "application/json"},
        )
        assert bad_json.status_code == 422 and CANARY not in bad_json.text


async def test_security_headers_on_page_and_api_and_docs_off_by_default() -> None:
    app, _ = guarded_app(FakeOperations())
    async with client_for(app) as c:
        for path, headers in (("/", {}), ("/api/v1/overview", V), ("/api/v1/overview", {})):
            answer = await c.get(path, headers=headers)
            csp = answer.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
            assert "unsafe-inline" not in csp
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert "server" not in answer.headers
        assert (await c.get("/docs")).status_code == 404
        assert (await c.get("/openapi.json")).status_code == 200
    docs_app, _ = guarded_app(FakeOperations(), api_docs=True)
    async with client_for(docs_app) as c:
        assert (await c.get("/docs")).status_code == 200


def test_tokens_are_held_as_digests_and_may_be_configured_as_digests(tmp_path: Any) -> None:
    hashed = "sha256:" + digest(OPERATOR).hex()
    authority = TokenAuthority([VIEWER], [hashed])
    found = authority.role_of(OPERATOR)
    assert found is not None and found.role.name == "OPERATOR"
    assert authority.role_of(hashed) is None  # the digest itself is no token
    held = json.dumps([d.hex() for d, _ in authority._digests])
    assert VIEWER not in held and OPERATOR not in held
    with pytest.raises(ValueError, match="64 hex"):
        TokenAuthority([], ["sha256:abc"])
    tokens = tmp_path / "operators"
    tokens.write_text(f"# operators\n{hashed}\n\n")
    settings = ApiSettings(api_operator_tokens_file=tokens)
    assert settings.operator_tokens == frozenset({hashed})
    assert OPERATOR not in repr(ApiSettings(api_operator_tokens=SecretStr(OPERATOR)))
