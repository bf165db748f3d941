"""ASGI layers in front of the API: security headers, a deadline, authentication before the
body is read, a failed-authentication limit per client, and a body size limit.

Order (outermost first): headers -> deadline -> gate -> body limit -> the FastAPI app. The
gate answers 401/403/429 from the headers alone, so an anonymous 200 MB POST is refused
without reading a byte of it; the body limit then buffers at most `max_body` bytes.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from typing import Any

from aiolimiter import AsyncLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.api.auth import CSRF_HEADER, Role, Sessions, TokenAuthority, identify
from engine.api.refusals import RefusalLedger

API_PREFIX = "/api/"
# Signing in (POST, with the token as bearer) and out (POST .../end) are not operator actions.
SESSION_PATHS = frozenset({"/api/v1/session", "/api/v1/session/end"})
# The status page and the API: same origin only, no framing, no plugins, no inline script.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
MAX_TRACKED_CLIENTS = 10_000


async def _problem(
    send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Adds the security headers to every response and drops any `server` header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                if scope["path"].startswith(API_PREFIX):
                    kept.append((b"cache-control", b"no-store"))
                message = {**message, "headers": kept + SECURITY_HEADERS}
            await send(message)

        await self.app(scope, receive, with_headers)


class Deadline:
    """An /api call still running after `seconds` answers 503 (Kafka down must not hang it)."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, receive, tracking), self.seconds)
        except TimeoutError:
            if not started:
                await _problem(
                    send, 503, f"no answer within {self.seconds:g}s (Kafka unavailable?)", []
                )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _route(scope: Scope) -> str:
    """Method and path with ids replaced, as a metric/audit label (no caller value)."""
    parts = scope["path"].split("/")
    kept = [p if p in _KNOWN_SEGMENTS else "{x}" for p in parts]
    return f"{scope['method']} {'/'.join(kept)}"


_KNOWN_SEGMENTS = frozenset(
    {"", "api", "v1", "whoami", "overview", "sagas", "deals", "invoices", "exceptions", "dlq"}
    | {
        "replay",
        "retry",
        "cancel",
        "session",
        "end",
        "finance",
        "operations",
        "timeline",
        "bulk",
        "note",
        "reveal",
    }
)


class AuthGate:
    """Refuses /api calls without a valid token or session (401), a viewer's writes (403), a
    cookie-authenticated write without the CSRF header (403), and a client that failed
    authentication too often (429), before the body is read."""

    def __init__(
        self,
        app: ASGIApp,
        authority: TokenAuthority,
        sessions: Sessions,
        ledger: RefusalLedger,
        failures_per_minute: int,
    ) -> None:
        self.app = app
        self.authority = authority
        self.sessions = sessions
        self.ledger = ledger
        self.failures_per_minute = failures_per_minute
        self._failures: OrderedDict[str, AsyncLimiter] = OrderedDict()

    def _limiter(self, client: str) -> AsyncLimiter:
        limiter = self._failures.pop(client, None) or AsyncLimiter(self.failures_per_minute, 60)
        self._failures[client] = limiter  # most recent last; the oldest are dropped
        while len(self._failures) > MAX_TRACKED_CLIENTS:
            self._failures.popitem(last=False)
        return limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        limiter = self._failures.get(client)
        if limiter is not None and not limiter.has_capacity():
            self.ledger.refuse("rate_limited", _route(scope))
            await _problem(send, 429, "too many failed authentications", [(b"retry-after", b"60")])
            return
        caller = identify(
            self.authority,
            self.sessions,
            _header(scope, b"authorization"),
            _header(scope, b"cookie"),
        )
        if caller is None:
            limiter = self._limiter(client)
            if limiter.has_capacity():
                await limiter.acquire()  # immediate: there is capacity
            self.ledger.refuse("unauthenticated", _route(scope))
            await _problem(
                send, 401, "missing or unknown bearer token", [(b"www-authenticate", b"Bearer")]
            )
            return
        unsafe = scope["method"] not in ("GET", "HEAD")
        if unsafe and caller.by_cookie and _header(scope, CSRF_HEADER.encode()) is None:
            self.ledger.refuse("forbidden", _route(scope))
            await _problem(send, 403, f"a signed-in write needs the {CSRF_HEADER} header", [])
            return
        if unsafe and scope["path"] not in SESSION_PATHS and caller.principal.role < Role.OPERATOR:
            self.ledger.refuse("forbidden", _route(scope))
            await _problem(send, 403, "operator role required", [])
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """Reads at most `max_bytes` of a request body (413 beyond), then hands it to the app."""

    def __init__(self, app: ASGIApp, max_bytes: int, ledger: RefusalLedger) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.ledger = ledger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", []):
            if key == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await self._too_large(scope, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._too_large(scope, send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def buffered() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, buffered, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        self.ledger.refuse("too_large", _route(scope))
        await _problem(send, 413, f"request body over {self.max_bytes} bytes", [])


def guarded(
    app: ASGIApp,
    *,
    authority: TokenAuthority,
    sessions: Sessions,
    ledger: RefusalLedger,
    max_body: int,
    deadline_s: float,
    failures_per_minute: int,
) -> Any:
    """`app` behind every layer of this module."""
    inner = BodyLimit(app, max_body, ledger)
    gate = AuthGate(inner, authority, sessions, ledger, failures_per_minute)
    return SecurityHeaders(Deadline(gate, deadline_s))
