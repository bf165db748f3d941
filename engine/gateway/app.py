"""The gateway's FastAPI app: one `POST /ingest/<route>` per platform format, store first.

Order per request: what the headers alone can refuse (401 before the body is read: a missing
or unknown token or key, a missing or stale signature), size (413 before reading more than the
limit), full authentication (401, nothing stored, counted by reason), store to the native topic (503 when Kafka does not
acknowledge in time), then the platform's acknowledgement (2xx; Salesforce's SOAP Ack).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from engine.api.refusals import RefusalLedger
from engine.connectors.native import to_record
from engine.connectors.protocol import AuthError, InboundConnector, NativeRequest, ParseError
from engine.connectors.registry import CONNECTORS, native_topic
from engine.connectors.settings import ConnectorSettings
from engine.gateway import metrics
from engine.gateway.store import Store, StoreUnavailable
from engine.topics import name

log = logging.getLogger("q2c.gateway")
Clock = Callable[[], datetime]


class TooLarge(Exception):
    pass


def _problem(status: int, title: str) -> JSONResponse:
    return JSONResponse({"title": title, "status": status}, status_code=status)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _refused(platform: str, route: str, exc: AuthError, refusals: RefusalLedger | None) -> Response:
    metrics.REJECTED.labels(platform, route, exc.reason).inc()
    if refusals is not None:  # audited in aggregate, as the API's refusals are
        refusals.refuse(f"{platform}: {exc.reason}", f"POST /ingest/{route}")
    # Debug only: one line per refused request would let a flood fill the logs.
    log.debug("refused %s request: %s", platform, exc.reason)
    return _problem(401, "not authenticated")


def _delivery_key(connector: InboundConnector, native: NativeRequest) -> str | None:
    # Keyed by the platform's delivery identity so a redelivery lands on the same partition;
    # an unreadable body is stored anyway (the translator dead-letters it with the reason).
    try:
        events = connector.split(native)
    except ParseError:
        return None
    return events[0].delivery_id if events else None


def create_gateway(
    store: Store,
    settings: ConnectorSettings,
    topic_prefix: str,
    clock: Clock = lambda: datetime.now(UTC),
    refusals: RefusalLedger | None = None,
) -> FastAPI:
    """The gateway app over `store`; `clock` is injectable for signature-tolerance tests;
    `refusals` counts refused requests for the audit trail (started and closed by the caller)."""
    app = FastAPI(title="q2c gateway", docs_url=None, redoc_url=None)
    routes = {r.path: c for c in CONNECTORS.values() for r in c.routes}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> Response:
        if await store.ready():
            return JSONResponse({"status": "ready"})
        return _problem(503, "Kafka unreachable")

    @app.get("/metrics")
    async def metrics_page() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.options("/ingest/sap")
    async def webhook_handshake(request: Request) -> Response:
        # CloudEvents webhook validation (Event Mesh): allow the requesting origin.
        origin = request.headers.get("webhook-request-origin")
        if not origin:
            return Response(status_code=204, headers={"Allow": "POST, OPTIONS"})
        return Response(
            status_code=200,
            headers={"WebHook-Allowed-Origin": origin, "Allow": "POST, OPTIONS"},
        )

    @app.post("/ingest/{route:path}")
    async def ingest(route: str, request: Request) -> Response:
        connector = routes.get(route)
        if connector is None:
            return _problem(404, f"no ingest route {route!r}")
        platform = connector.platform
        started = time.perf_counter()
        metrics.RECEIVED.labels(platform, route).inc()
        try:
            return await _ingest(connector, route, request)
        finally:
            metrics.LATENCY.labels(platform, route).observe(time.perf_counter() - started)

    async def _ingest(connector: InboundConnector, route: str, request: Request) -> Response:
        platform = connector.platform
        now = clock()
        headers = {k.lower(): v for k, v in request.headers.items()}
        query = dict(request.query_params)
        try:
            # Credentials in headers are checked before a byte of the body is read.
            connector.precheck(
                NativeRequest(platform, route, b"", headers, now, query), settings, now
            )
        except AuthError as exc:
            return _refused(platform, route, exc, refusals)
        try:
            body = await _read_body(request, settings.max_body_bytes)
        except TooLarge:
            metrics.REJECTED.labels(platform, route, "too-large").inc()
            return _problem(413, f"body over {settings.max_body_bytes} bytes")
        native = NativeRequest(platform, route, body, headers, now, query)
        try:
            tenant = connector.authenticate(native, settings, now)
        except AuthError as exc:
            return _refused(platform, route, exc, refusals)
        metrics.AUTHENTICATED.labels(platform, route).inc()
        native = NativeRequest(platform, route, body, native.headers, now, tenant=tenant)
        record = to_record(
            name(topic_prefix, native_topic(platform)), native, _delivery_key(connector, native)
        )
        try:
            await store.store(record)
        except StoreUnavailable:
            metrics.REJECTED.labels(platform, route, "unavailable").inc()
            return _problem(503, "event store unavailable; retry later")
        metrics.STORED.labels(platform, route).inc()
        ack = connector.acknowledgement(native)
        return Response(ack.body, status_code=ack.status_code, media_type=ack.media_type)

    return app
