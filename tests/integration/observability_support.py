"""An engine with its HTTP server in a background thread, for tests that use HTTP clients or a
browser (synchronous) against a real broker, and a small demo run to look at."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from engine.contracts import Event
from engine.publisher import Publisher
from engine.runtime.app import Engine
from engine.settings import Settings
from engine.workload.histories import HistoryOptions, deal_history, master_data
from tests.integration.engine_support import engine_settings

T = TypeVar("T")
VIEWER = "it-viewer-token"
OPERATOR = "it-operator-token"


@contextlib.contextmanager
def api_tokens() -> Iterator[None]:
    """Role tokens for engines started inside the block (read from the environment)."""
    saved = {k: os.environ.get(k) for k in ("Q2C_API_VIEWER_TOKENS", "Q2C_API_OPERATOR_TOKENS")}
    os.environ["Q2C_API_VIEWER_TOKENS"] = VIEWER
    os.environ["Q2C_API_OPERATOR_TOKENS"] = OPERATOR
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class EngineThread:
    """One engine (HTTP on an ephemeral loopback port) running in its own event loop."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.settings: Settings | None = None
        self.engine: Engine | None = None
        self.port = 0

    def call(self, coro: Coroutine[Any, Any, T], timeout_s: float = 180.0) -> T:
        """Run `coro` on the engine's loop and wait for its result (bounded)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def start(self) -> None:
        async def _start() -> None:
            unique = uuid.uuid4().hex[:10]
            self.settings = await engine_settings(
                self.bootstrap, unique, http_host="127.0.0.1", http_port=0
            )
            with api_tokens():
                self.engine = Engine(self.settings, worker_id="obs-1", http=True)
                await self.engine.start()
            await self.engine.wait_ready(90)
            assert self.engine.http_port is not None, "HTTP did not start"
            self.port = self.engine.http_port

        self.call(_start())

    def stop(self) -> None:
        try:
            if self.engine is not None:
                self.call(self.engine.stop(), 60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def publish(self, events: list[Event], traceparent: str | None = None) -> int:
        """Publish events (optionally all in one trace, as trace-propagating platforms would)."""
        assert self.settings is not None
        settings = self.settings

        async def _publish() -> int:
            async with Publisher(settings) as pub:
                for event in events:
                    await pub.publish(event, traceparent=traceparent)
            return len(events)

        return self.call(_publish())

    def get(self, path: str, token: str | None = VIEWER, timeout_s: float = 30.0) -> Any:
        return request(self.base + path, token=token, timeout_s=timeout_s)

    def wait_for(self, path: str, done: Any, timeout_s: float = 120.0) -> Any:
        """Poll GET `path` until `done(body)` holds; returns the last body (bounded)."""
        deadline = time.monotonic() + timeout_s
        body = self.get(path)
        while not done(body) and time.monotonic() < deadline:
            time.sleep(0.5)
            body = self.get(path)
        return body


def request(
    url: str,
    *,
    token: str | None = None,
    method: str = "GET",
    body: Any = None,
    timeout_s: float = 30.0,
) -> Any:
    """JSON (or text, for /metrics) from the worker; HTTP errors raise HTTPError."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:
        raw = resp.read().decode()
        return json.loads(raw) if resp.headers.get_content_type() == "application/json" else raw


def status_of(url: str, token: str | None, method: str = "GET", body: Any = None) -> int:
    try:
        request(url, token=token, method=method, body=body)
    except urllib.error.HTTPError as exc:
        return exc.code
    return 200


def deals(n: int, prefix: str = "DEAL") -> list[str]:
    return [f"{prefix}-{i:03d}" for i in range(1, n + 1)]


def demo_events(deal_ids: list[str]) -> tuple[list[Event], list[Event]]:
    """(master data, every deal's history): deals complete when all of it is processed."""
    opts = HistoryOptions(milestones=2)
    return master_data(deal_ids), [e for d in deal_ids for e in deal_history(d, opts)]


def all_completed(n: int) -> Any:
    def done(overview: Any) -> bool:
        return bool(overview["by_state"].get("quote-to-cash", {}).get("completed") == n)

    return done
