"""What every emulator shares: a uvicorn server in a thread, an effect log, auth, limits, faults.

- `POST /oauth/token` (client credentials, `client_secret_post`) issues bearer tokens;
  every other request needs a live one, else 401. `revoke_tokens()` expires them all.
- `rate_per_s` admits at most that many requests in any 1-second window; the others get the
  platform's own limit reply (`limit_reply`).
- Faults: `fail_next(n, status, body, headers)` answers the next n requests with an error,
  `lose_replies(n, delay_s)` applies the next n requests but answers only after `delay_s`
  (the client times out: the effect happened, the caller does not know), `outage(seconds)`
  answers 503 for a while.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

START_TIMEOUT_S = 10.0
CLIENT_ID = "q2c-test-client"
CLIENT_SECRET = "emulator-secret-not-real"


@dataclass(frozen=True)
class Effect:
    """One change a user of the platform would see."""

    kind: str  # create, update, action
    record: str  # the record type, e.g. job, Opportunity
    key: str  # the record's external id (or id)
    fields: dict[str, Any] = field(default_factory=dict)
    client: str | None = None  # the caller's client id header, where the platform has one


class EffectLog:
    """Thread-safe list of effects (the server thread writes, the test reads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._effects: list[Effect] = []

    def add(self, effect: Effect) -> None:
        with self._lock:
            self._effects.append(effect)

    def all(self) -> list[Effect]:
        with self._lock:
            return list(self._effects)

    def of(self, kind: str | None = None, record: str | None = None) -> list[Effect]:
        return [
            e
            for e in self.all()
            if (kind is None or e.kind == kind) and (record is None or e.record == record)
        ]

    def count(self, kind: str | None = None, record: str | None = None) -> int:
        return len(self.of(kind, record))


@dataclass
class Fault:
    status: int
    body: Any
    headers: dict[str, str]


Handler = Callable[[Request], Awaitable[Response]]


class RecordStore:
    """Records of one platform by type and id, with lookup by any field (thread-confined)."""

    def __init__(self, id_prefix: str) -> None:
        self.id_prefix = id_prefix
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        self._next = 0

    def new_id(self) -> str:
        self._next += 1
        return f"{self.id_prefix}{self._next:06d}"

    def of(self, record: str) -> dict[str, dict[str, Any]]:
        return self.records.setdefault(record, {})

    def find(self, record: str, field_name: str, value: Any) -> list[str]:
        return [rid for rid, f in self.of(record).items() if f.get(field_name) == value]

    def insert(self, record: str, fields: dict[str, Any], rid: str | None = None) -> str:
        rid = rid or self.new_id()
        self.of(record)[rid] = dict(fields)
        return rid


class Emulator:
    """A platform emulator: routes + shared middleware, served on 127.0.0.1 in a thread."""

    name = "emulator"

    def __init__(self, *, rate_per_s: float | None = None) -> None:
        self.effects = EffectLog()
        self.reads: list[tuple[str, str]] = []  # (record type, id or query) of each read
        self.rate_per_s = rate_per_s
        self.statuses: Counter[int] = Counter()
        self.requests = 0
        self.limited = 0  # requests refused for the rate limit
        self.tokens: set[str] = set()
        self.tokens_issued = 0
        self._faults: list[Fault] = []
        self._lost = 0
        self._lost_delay_s = 0.0
        self._outage_until = 0.0
        self._window: list[float] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # -- what a platform defines --------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    def limit_reply(self) -> Response:
        """The platform's answer to a request over its rate limit."""
        return JSONResponse(
            {"error": "rate limited"}, status_code=429, headers={"Retry-After": "1"}
        )

    def unauthorized_reply(self) -> Response:
        return JSONResponse({"error": {"code": "INVALID_SESSION_ID"}}, status_code=401)

    async def authenticated(self, request: Request) -> bool:
        """A live bearer token from `/oauth/token` (platforms with other schemes extend this)."""
        auth = request.headers.get("authorization", "")
        return auth.startswith("Bearer ") and auth[7:] in self.tokens

    def client_of(self, request: Request) -> str | None:
        """The caller's client id, for platforms that record it (Salesforce's changeOrigin)."""
        return None

    # -- test controls -------------------------------------------------------------------------

    def fail_next(
        self, n: int, status: int, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        self._faults.extend(Fault(status, body, headers or {}) for _ in range(n))

    def lose_replies(self, n: int, delay_s: float) -> None:
        self._lost, self._lost_delay_s = n, delay_s

    def outage(self, seconds: float) -> None:
        self._outage_until = time.monotonic() + seconds

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    # -- serving -------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/oauth/token", self._token, methods=["POST"]), *self.routes()],
            middleware=[Middleware(BaseHTTPMiddleware, dispatch=self._count)],
        )

    async def _count(self, request: Request, call_next: Handler) -> Response:
        self.requests += 1
        reply = await self._gate(request, call_next)
        self.statuses[reply.status_code] += 1
        return reply

    async def _gate(self, request: Request, call_next: Handler) -> Response:
        if request.url.path == "/oauth/token":
            return await call_next(request)
        if not await self.authenticated(request):
            return self.unauthorized_reply()
        if time.monotonic() < self._outage_until:
            return JSONResponse({"error": {"code": "SERVICE_UNAVAILABLE"}}, status_code=503)
        if self._faults:
            fault = self._faults.pop(0)
            return Response(
                json.dumps(fault.body) if fault.body is not None else b"",
                status_code=fault.status,
                headers=fault.headers,
                media_type="application/json",
            )
        if self.rate_per_s is not None and not self._admit():
            self.limited += 1
            return self.limit_reply()
        reply = await call_next(request)
        if self._lost > 0:
            self._lost -= 1
            await asyncio.sleep(self._lost_delay_s)
        return reply

    def _admit(self) -> bool:
        assert self.rate_per_s is not None
        now = time.monotonic()
        self._window = [t for t in self._window if now - t < 1.0]
        if len(self._window) >= self.rate_per_s:
            return False
        self._window.append(now)
        return True

    async def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "client_credentials" or (
            form.get("client_id"),
            form.get("client_secret"),
        ) != (CLIENT_ID, CLIENT_SECRET):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        self.tokens_issued += 1
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def start(self) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=f"emulator-{self.name}", daemon=True)
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} emulator did not start")
            time.sleep(0.02)
        self._server, self._thread = server, thread
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = self._thread = None

    @contextlib.contextmanager
    def running(self) -> Iterator[Emulator]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def record(self, request: Request, kind: str, record: str, key: str, fields: Any) -> None:
        self.effects.add(Effect(kind, record, key, dict(fields or {}), self.client_of(request)))
