"""Signing in to the status page: the token is sent once as a bearer and answered with an
HttpOnly, SameSite=Strict session cookie; a cookie write needs the CSRF header; a viewer's
session cannot operate; signing out ends it; a worker without tokens says which to set."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from engine.api.auth import CSRF_HEADER, SESSION_COOKIE, Sessions, TokenAuthority
from engine.api.config import ApiSettings
from engine.api.hardening import harden
from tests.unit.api_fakes import OPERATOR, VIEWER, FakeOperations, make_app

CSRF = {CSRF_HEADER: "1"}


def client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")


def guarded(ops: FakeOperations | None = None, **kwargs: Any) -> Any:
    served, _ledger = harden(make_app(ops or FakeOperations(), **kwargs), ApiSettings())
    return served


async def sign_in(c: httpx.AsyncClient, token: str) -> httpx.Response:
    return await c.post("/api/v1/session", headers={"Authorization": f"Bearer {token}"})


async def test_sign_in_sets_an_httponly_strict_cookie_without_the_token() -> None:
    async with client(guarded()) as c:
        signed = await sign_in(c, VIEWER)
        assert signed.status_code == 200 and signed.json()["role"] == "viewer"
        cookie = signed.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert VIEWER not in cookie and VIEWER not in signed.text
        # From now on the cookie alone authenticates reads.
        assert (await c.get("/api/v1/overview")).status_code == 200
        assert (await c.get("/api/v1/whoami")).json()["role"] == "viewer"


async def test_a_bad_token_gets_no_session() -> None:
    async with client(guarded()) as c:
        refused = await sign_in(c, "nope")
        assert refused.status_code == 401 and "set-cookie" not in refused.headers
        assert (await c.get("/api/v1/overview")).status_code == 401


async def test_cookie_writes_need_the_csrf_header_and_the_operator_role() -> None:
    ops = FakeOperations()
    async with client(guarded(ops)) as c:
        await sign_in(c, OPERATOR)
        body = {"reason": "fixed"}
        forged = await c.post("/api/v1/exceptions/D-3/retry", json=body)
        assert forged.status_code == 403 and CSRF_HEADER in forged.json()["detail"]
        assert ops.calls == []
        done = await c.post("/api/v1/exceptions/D-3/retry", json=body, headers=CSRF)
        assert done.status_code == 200 and ops.calls[0][0] == "retry"
    async with client(guarded(ops)) as c:
        await sign_in(c, VIEWER)
        refused = await c.post("/api/v1/exceptions/D-3/retry", json=body, headers=CSRF)
        assert refused.status_code == 403 and refused.json()["detail"] == "operator role required"


async def test_signing_out_ends_the_session() -> None:
    async with client(guarded()) as c:
        await sign_in(c, VIEWER)
        assert (await c.post("/api/v1/session/end", headers=CSRF)).status_code == 204
        # The server forgot it: the old cookie no longer works even if a client kept it.
        assert (await c.get("/api/v1/overview")).status_code == 401


def test_sessions_expire_and_are_bounded() -> None:
    now = [0.0]
    sessions = Sessions(clock=lambda: now[0], ttl_s=10, limit=2)
    principal = TokenAuthority(["v"], []).role_of("v")
    assert principal is not None
    first, second, third = (sessions.open(principal) for _ in range(3))
    assert sessions.principal(first) is None  # dropped: over the limit
    assert sessions.principal(third) == principal
    now[0] = 10.0
    assert sessions.principal(second) is None and sessions.principal(third) is None


@pytest.mark.parametrize("configured", [True, False])
async def test_page_config_says_which_setting_to_set(configured: bool) -> None:
    authority = TokenAuthority([VIEWER] if configured else [], [])
    async with client(guarded(authority=authority)) as c:
        body = (await c.get("/page/config")).json()
    assert body["tokens_configured"] is configured
    if not configured:
        assert "Q2C_API_VIEWER_TOKENS" in body["message"]
        assert "Q2C_API_OPERATOR_TOKENS" in body["message"]


async def test_page_is_served_with_security_headers_and_no_inline_script() -> None:
    async with client(guarded()) as c:
        page = await c.get("/")
        script = (await c.get("/static/app.js")).text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text  # only <script src=...> from the package
    # The token is neither read from the URL nor stored where another script could read it.
    for leak in ("location.search", "URLSearchParams(location", "localStorage", "sessionStorage"):
        assert leak not in script
