"""The FastAPI application: probes, metrics, the read API, operator actions and the status page."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from engine.api import console, finance, models, timeline, views
from engine.api.auth import (
    SESSION_COOKIE,
    Principal,
    Role,
    Sessions,
    TokenAuthority,
    cookie_value,
    identify,
)
from engine.api.operations import NOTE_ACTION, Operations
from engine.api.reads import ReadLedger
from engine.api.sources import StateMap, StateSource
from engine.dlq.replay import ReplaySuperseded
from engine.exceptions_queue.actions import ExceptionAction, NotInException, in_exception
from engine.exceptions_queue.queue import exception_items
from engine.ops.audit import AuditAction, AuditRecord, audit_action, new_action_id, now_utc, refusal
from engine.security.reveal import saga_reveal_record

log = logging.getLogger("q2c.api")
STATIC_DIR = FsPath(__file__).resolve().parent.parent / "observability" / "static"
MAX_PAGE = 500
API = "/api/v1"
# The saga key is an Id in the contracts: bounded, no path separators.
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"

_bearer = HTTPBearer(auto_error=False, description="viewer or operator token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
SourceParam = Annotated[
    models.Source,
    Query(description="local: this worker's partitions (fast); changelog: every saga (complete)"),
]
SagaKey = Annotated[str, Path(pattern=KEY_PATTERN, max_length=128)]
Responses = dict[int | str, dict[str, Any]]

UNAUTHORIZED: Responses = {
    401: {"model": models.Problem, "description": "missing or unknown token"}
}
FORBIDDEN: Responses = {403: {"model": models.Problem, "description": "role not allowed"}}
UNAVAILABLE: Responses = {503: {"model": models.Problem, "description": "Kafka unreachable"}}
NOT_FOUND: Responses = {404: {"model": models.Problem, "description": "no such saga or record"}}
BAD_BODY: Responses = {400: {"model": models.Problem, "description": "body is not JSON"}}
CONFLICT: Responses = {409: {"model": models.Problem, "description": "saga not in `exception`"}}
NO_TOKENS = (
    "No API token is configured, so nobody can sign in: set Q2C_API_VIEWER_TOKENS (read) "
    "and Q2C_API_OPERATOR_TOKENS (replay, retry, cancel), or their _FILE variants, on the "
    "worker and restart it."
)
RESOLVE: dict[
    ExceptionAction, str
] = {  # operator requests on a saga in `exception`: path suffix -> description
    "retry": "Retry the failed step of a saga in `exception` (operators only; audited).",
    "cancel": "Cancel a saga in `exception`; it compensates by stage (operators only; audited).",
}


class ApiContext:
    """What the routes need, held on `app.state.q2c`."""

    def __init__(
        self,
        *,
        states: StateSource,
        operations: Operations,
        authority: TokenAuthority,
        clock: Callable[[], datetime],
        worker_id: str,
        partitions: Callable[[], list[int]],
        sessions: Sessions | None = None,
        throughput: console.Throughput | None = None,
        reads: ReadLedger | None = None,
    ) -> None:
        """`reads`: where saga reads are counted for the audit (start and close it with the
        server; by default one summary per minute through `operations.audit`)."""
        self.states = states
        self.operations = operations
        self.authority = authority
        self.clock = clock
        self.worker_id = worker_id
        self.partitions = partitions
        self.sessions = sessions or Sessions()
        self.throughput = throughput or console.Throughput()
        self.reads = reads or ReadLedger(operations.audit)

    async def read(self, source: models.Source) -> StateMap:
        if source == "local":
            return self.states.local()
        try:
            return await self.states.changelog()
        except Exception as exc:  # the broker is down or slow: a 503, not a 500
            log.warning("reading the changelog failed: %s", type(exc).__name__)
            raise HTTPException(503, "changelog unavailable") from exc


def _ctx(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.q2c
    return ctx


Ctx = Annotated[ApiContext, Depends(_ctx)]


def _authenticate(ctx: ApiContext, request: Request) -> Principal:
    """The bearer token's principal, else the session cookie's (the guard has already
    required the CSRF header on a cookie-authenticated write)."""
    caller = identify(
        ctx.authority,
        ctx.sessions,
        request.headers.get("authorization"),
        request.headers.get("cookie"),
    )
    if caller is None:
        raise HTTPException(401, "missing or unknown bearer token", {"WWW-Authenticate": "Bearer"})
    return caller.principal


def viewer(request: Request, ctx: Ctx, creds: Credentials) -> Principal:
    """Any valid token or session (`creds` documents the bearer scheme in OpenAPI)."""
    return _authenticate(ctx, request)


async def operator(request: Request, ctx: Ctx, creds: Credentials) -> Principal:
    """An operator token or session; refused attempts are audited too."""
    try:
        principal = _authenticate(ctx, request)
    except HTTPException:
        await _audit(ctx, "anonymous", request, "denied:401", {})
        raise
    if principal.role < Role.OPERATOR:
        await _audit(ctx, principal.name, request, "denied:403", {})
        raise HTTPException(403, "operator role required")
    return principal


Viewer = Annotated[Principal, Depends(viewer)]
Operator = Annotated[Principal, Depends(operator)]


def _action(request: Request) -> AuditAction:
    """The audit action of an operator route: `dlq.replay`, `exceptions.retry`, ..."""
    parts = request.url.path.removeprefix(API).strip("/").split("/")
    return audit_action(f"{parts[0]}.{parts[-1]}")


async def _audit(
    ctx: ApiContext, actor: str, request: Request, outcome: str, params: Mapping[str, Any]
) -> None:
    """Audit a call that was refused or failed (what went through the shared actions audit)."""
    record = refusal(
        _action(request),
        by=actor,
        target=request.path_params.get("saga_key", request.url.path),
        outcome=outcome,
        via="api",
        details={"request": f"{request.method} {request.url.path}", **params},
    )
    try:
        await ctx.operations.audit(record)
    except Exception as exc:
        # An action we cannot audit must not look like it succeeded silently.
        log.error("audit write failed: %s", type(exc).__name__)
        raise HTTPException(503, "audit log unavailable") from exc


def create_app(ctx: ApiContext) -> FastAPI:
    """The application; `ctx` binds it to a worker (or to fakes in tests)."""
    app = FastAPI(
        title="q2c worker API",
        version="1",
        description=(
            "Read API over this worker's saga states (`?source=changelog` for every saga), "
            "dead letters and exceptions; operators replay and resolve. Bearer tokens: "
            "viewer or operator. `/health`, `/ready`, `/metrics` and `/` need no token."
        ),
    )
    app.state.q2c = ctx
    _probes(app)
    _session(app)
    _reads(app)
    _consoles(app)
    _actions(app)
    _bulk(app)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

        @app.get("/", include_in_schema=False)
        def index() -> FileResponse:
            return FileResponse(STATIC_DIR / "index.html")

        @app.get("/page/config", response_model=models.PageConfig, include_in_schema=False)
        def page_config(ctx: Ctx) -> models.PageConfig:
            """What the sign-in form says before anyone signs in (no token needed)."""
            if not ctx.authority.empty:
                return models.PageConfig(tokens_configured=True, message=None)
            return models.PageConfig(tokens_configured=False, message=NO_TOKENS)

    return app


def _probes(app: FastAPI) -> None:
    @app.get("/health", response_model=models.Probe, tags=["probes"])
    def health(ctx: Ctx) -> models.Probe:
        """The process is alive and serving."""
        return models.Probe(status="alive", worker_id=ctx.worker_id)

    @app.get(
        "/ready",
        response_model=models.Probe,
        tags=["probes"],
        responses={503: {"model": models.Probe, "description": "not ready"}},
    )
    def ready(ctx: Ctx) -> Response:
        """Partitions assigned and restored, Kafka reachable and every task committing (200),
        else 503 with the reason."""
        ok, reason = ctx.states.readiness()
        body = models.Probe(
            status="ready" if ok else "not ready",
            worker_id=ctx.worker_id,
            partitions=ctx.partitions(),
            reason=reason,
        )
        return JSONResponse(body.model_dump(), status_code=200 if ok else 503)

    @app.get("/metrics", tags=["probes"], response_class=Response)
    def metrics() -> Response:
        """Prometheus exposition of the default registry."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _reads(app: FastAPI) -> None:
    errors: Responses = {**UNAUTHORIZED}

    @app.get(f"{API}/whoami", response_model=models.Whoami, responses=errors, tags=["read"])
    def whoami(who: Viewer) -> models.Whoami:
        """The caller's role."""
        return models.Whoami(role=who.role.name.lower(), actor=who.name)

    @app.get(
        f"{API}/overview",
        response_model=models.Overview,
        responses={**errors, **UNAVAILABLE},
        tags=["read"],
    )
    async def overview(ctx: Ctx, who: Viewer, source: SourceParam = "local") -> dict[str, Any]:
        """Counts by type and state, the deal funnel and cycle times (count, median, p90, max:
        within 0.5%, from logarithmic buckets)."""
        if source == "local":  # from the stores' maintained tallies: no state is decoded
            body = views.overview_of(*ctx.states.local_tallies())
        else:
            body = views.overview(await ctx.read(source))
        return {"source": source, "worker_id": ctx.worker_id, **body}

    @app.get(
        f"{API}/sagas",
        response_model=models.SagaPage,
        responses={**errors, **UNAVAILABLE},
        tags=["read"],
    )
    async def list_sagas(
        ctx: Ctx,
        who: Viewer,
        saga_type: Annotated[str | None, Query(max_length=100)] = None,
        state: Annotated[str | None, Query(max_length=100)] = None,
        min_age_s: Annotated[
            float | None, Query(ge=0, le=1e9, description="at least this long in its state")
        ] = None,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        source: SourceParam = "local",
    ) -> dict[str, Any]:
        """Sagas by type, state and time in state, sorted by type and key, paged."""
        now = ctx.clock()
        chosen = views.select(
            await ctx.read(source), now, saga_type=saga_type, state=state, min_age_s=min_age_s
        )
        result = views.page(chosen, offset, limit)
        result["items"] = [views.saga_summary(s, now) for s in result["items"]]
        return {**result, "source": source}

    @app.get(
        f"{API}/sagas/{{saga_key}}",
        response_model=models.SagasOfKey,
        responses={**errors, **NOT_FOUND, **UNAVAILABLE},
        tags=["read"],
    )
    async def saga(
        ctx: Ctx,
        who: Viewer,
        saga_key: SagaKey,
        source: SourceParam = "local",
    ) -> dict[str, Any]:
        """Every saga type's instance for the key: state, data, parked events, timers,
        history. Data beyond the type's safe fields (amounts, terms, rates, tax and account
        details) is masked (`POST .../reveal` shows it to operators). Reads are audited in
        aggregate: one summary per caller and interval."""
        found = views.sagas_of_key(await ctx.read(source), saga_key)
        ctx.reads.read(who.name, "detail", saga_key, "done" if found else "not-found")
        if not found:
            raise HTTPException(404, f"no saga with key {saga_key!r} ({source})")
        now = ctx.clock()
        return {
            "saga_key": saga_key,
            "source": source,
            "revealed": False,
            "sagas": [views.saga_detail(s, now) for s in found],
        }

    @app.get(
        f"{API}/deals/{{saga_key}}/invoices",
        response_model=models.InvoiceStatus,
        responses={**errors, **NOT_FOUND, **UNAVAILABLE},
        tags=["read"],
    )
    async def invoices(
        ctx: Ctx,
        who: Viewer,
        saga_key: SagaKey,
        source: SourceParam = "local",
    ) -> dict[str, Any]:
        """Invoices and payments of a deal, as the saga declaring the "invoices" view (the
        deal's saga) recorded them."""
        found = views.document("invoices")
        if found is None:
            raise HTTPException(404, "no saga type declares an invoices view")
        saga_type, build = found
        state = (await ctx.read(source)).get((saga_type, saga_key))
        ctx.reads.read(who.name, "invoices", saga_key, "done" if state else "not-found")
        if state is None:
            raise HTTPException(404, f"no {saga_type} saga {saga_key!r} ({source})")
        return build(state)

    @app.get(
        f"{API}/exceptions",
        response_model=models.ExceptionList,
        responses={**errors, **UNAVAILABLE},
        tags=["read"],
    )
    async def exceptions(ctx: Ctx, who: Viewer, source: SourceParam = "local") -> dict[str, Any]:
        """Sagas in `exception`, oldest first, with their reason, age, owner and notes."""
        # The local queue comes from the stores' exception index: no pass over every saga.
        states = ctx.states.local_exceptions() if source == "local" else await ctx.read(source)
        items = exception_items(states, ctx.clock())
        try:
            notes = await ctx.operations.exception_notes()
        except Exception as exc:  # the queue itself comes from the states: still show it
            log.warning("reading exception notes failed: %s", type(exc).__name__)
            notes = None
        out = []
        for item in items:
            mine = (notes or {}).get(item.saga_key, [])
            out.append({**item.to_json(), "notes": mine, "owner": views.owner_of(mine)})
        return {"source": source, "items": out, "notes_read": notes is not None}

    @app.get(
        f"{API}/dlq",
        response_model=models.DlqSummary,
        responses={**errors, **UNAVAILABLE},
        tags=["read"],
    )
    async def dlq_summary(ctx: Ctx, who: Viewer) -> dict[str, Any]:
        """Dead letters by topic and error class, and the most recent ones (read from Kafka)."""
        try:
            return await ctx.operations.dlq_summary()
        except Exception as exc:
            log.warning("reading dead letters failed: %s", type(exc).__name__)
            raise HTTPException(503, "dead-letter topics unavailable") from exc


def _actions(app: FastAPI) -> None:
    errors: Responses = {**UNAUTHORIZED, **FORBIDDEN, **UNAVAILABLE, **BAD_BODY}

    @app.post(
        f"{API}/dlq/replay",
        response_model=models.ReplayResult,
        responses={
            **errors,
            **NOT_FOUND,
            409: {"model": models.Problem, "description": "superseded by a later command"},
        },
        tags=["operate"],
    )
    async def replay(
        request: Request, ctx: Ctx, who: Operator, body: models.ReplayRequest
    ) -> dict[str, Any]:
        """Re-send one dead letter to the topic it failed on (operators only; audited)."""
        try:
            result = await ctx.operations.replay(body.topic, body.partition, body.offset, who.name)
        except ReplaySuperseded as exc:
            raise HTTPException(409, str(exc)) from exc
        except Exception as exc:
            await _audit(ctx, who.name, request, f"error:{type(exc).__name__}", body.model_dump())
            raise HTTPException(503, "replay failed: Kafka unavailable") from exc
        if result is None:
            raise HTTPException(404, "no such dead letter")
        return result

    @app.post(
        f"{API}/sagas/{{saga_key}}/reveal",
        response_model=models.SagasOfKey,
        responses={**errors, **NOT_FOUND},
        tags=["operate"],
    )
    async def reveal(
        ctx: Ctx,
        who: Operator,
        saga_key: SagaKey,
        body: models.RevealRequest,
        source: SourceParam = "local",
    ) -> dict[str, Any]:
        """Every saga of the key with its protected data in clear (operators only). Who,
        which saga, which fields and why are written to the audit topic before the answer;
        if that write fails, nothing is revealed (503)."""
        found = views.sagas_of_key(await ctx.read(source), saga_key)
        if not found:
            ctx.reads.read(who.name, "reveal", saga_key, "not-found")
            raise HTTPException(404, f"no saga with key {saga_key!r} ({source})")
        fields = {s.saga_type: views.protected_fields(s) for s in found}
        record = saga_reveal_record(saga_key, fields, by=who.name, why=body.why, via="api")
        try:
            await ctx.operations.audit(record)
        except Exception as exc:  # a reveal that is not audited does not happen
            log.error("reveal audit write failed: %s", type(exc).__name__)
            raise HTTPException(503, "audit log unavailable: nothing revealed") from exc
        now = ctx.clock()
        return {
            "saga_key": saga_key,
            "source": source,
            "revealed": True,
            "sagas": [views.saga_detail(s, now, reveal=True) for s in found],
        }

    for action, doc in RESOLVE.items():
        _resolve_route(app, action, doc, errors)


def _resolve_route(app: FastAPI, action: ExceptionAction, doc: str, errors: Responses) -> None:
    @app.post(
        f"{API}/exceptions/{{saga_key}}/{action}",
        name=action,
        description=doc,
        response_model=models.ResolveResult,
        responses={**errors, **NOT_FOUND, **CONFLICT},
        tags=["operate"],
    )
    async def resolve(
        request: Request,
        ctx: Ctx,
        who: Operator,
        saga_key: SagaKey,
        body: models.ResolveRequest,
    ) -> dict[str, Any]:
        params = {"reason": body.reason}
        # The saga may live on another worker: the changelog is the complete view.
        states = await ctx.read("changelog")
        try:
            result = await ctx.operations.resolve(action, saga_key, states, who.name, body.reason)
        except NotInException as exc:
            await _audit(ctx, who.name, request, "rejected:not-in-exception", params)
            raise HTTPException(404 if exc.state is None else 409, str(exc)) from exc
        except Exception as exc:
            await _audit(ctx, who.name, request, f"error:{type(exc).__name__}", params)
            raise HTTPException(503, f"{action} failed: Kafka unavailable") from exc
        return {"saga_key": saga_key, **result}


def _session(app: FastAPI) -> None:
    @app.post(f"{API}/session", response_model=models.Whoami, responses=UNAUTHORIZED, tags=["read"])
    def sign_in(request: Request, response: Response, ctx: Ctx, who: Viewer) -> models.Whoami:
        """Sign in with the token as bearer: answers with an HttpOnly, SameSite=Strict session
        cookie, so the page never keeps the token itself (nor puts it in a URL)."""
        session_id = ctx.sessions.open(who)
        response.set_cookie(
            SESSION_COOKIE,
            session_id,
            max_age=int(ctx.sessions.ttl_s),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return models.Whoami(role=who.role.name.lower(), actor=who.name)

    @app.post(f"{API}/session/end", status_code=204, responses=UNAUTHORIZED, tags=["read"])
    def sign_out(request: Request, ctx: Ctx, who: Viewer) -> Response:
        """End the session of the cookie sent."""
        ctx.sessions.close(cookie_value(request.headers.get("cookie")))
        response = Response(status_code=204)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response


def _consoles(app: FastAPI) -> None:
    errors: Responses = {**UNAUTHORIZED, **UNAVAILABLE}

    @app.get(f"{API}/finance", response_model=models.FinanceView, responses=errors, tags=["read"])
    async def finance_view(ctx: Ctx, who: Viewer, source: SourceParam = "local") -> dict[str, Any]:
        """Invoiced, paid, outstanding and overdue per currency and legal entity; invoices per
        deal; revenue recognised; cycle-time histograms; activation SLA breaches per day."""
        states = await ctx.read(source)
        return {"source": source, **finance.finance(states, ctx.clock())}

    @app.get(
        f"{API}/operations", response_model=models.OperationsView, responses=errors, tags=["read"]
    )
    async def operations_view(
        ctx: Ctx, who: Viewer, source: SourceParam = "local"
    ) -> dict[str, Any]:
        """Stuck sagas (longer in their state than expected), the aging of unfinished deals,
        consumer lag and throughput."""
        states = await ctx.read(source)
        now = ctx.clock()
        return {
            "source": source,
            "stuck": console.stuck(states, now),
            "aging": console.aging(states, now),
            "throughput": ctx.throughput.read(),
        }

    @app.get(
        f"{API}/deals/{{saga_key}}/timeline",
        response_model=models.TimelineView,
        responses={**errors, **NOT_FOUND},
        tags=["read"],
    )
    async def deal_timeline(
        ctx: Ctx, who: Viewer, saga_key: SagaKey, source: SourceParam = "local"
    ) -> dict[str, Any]:
        """One deal end to end: events, status changes, commands with idempotency keys,
        timers and parked events of every saga of the key, and the platform ids."""
        found = views.sagas_of_key(await ctx.read(source), saga_key)
        ctx.reads.read(who.name, "timeline", saga_key, "done" if found else "not-found")
        if not found:
            raise HTTPException(404, f"no saga with key {saga_key!r} ({source})")
        commands: list[timeline.CommandSeen] | None
        try:
            commands = await ctx.operations.commands_of(saga_key)
        except Exception as exc:  # the states still make a timeline; the page says what is missing
            log.warning("reading commands failed: %s", type(exc).__name__)
            commands = None
        return {"source": source, **timeline.timeline(saga_key, found, commands)}


def _bulk(app: FastAPI) -> None:
    errors: Responses = {**UNAUTHORIZED, **FORBIDDEN, **UNAVAILABLE, **BAD_BODY}

    @app.post(
        f"{API}/exceptions/bulk",
        response_model=models.BulkResolveResult,
        responses=errors,
        tags=["operate"],
    )
    async def bulk_resolve(
        request: Request, ctx: Ctx, who: Operator, body: models.BulkResolveRequest
    ) -> dict[str, Any]:
        """Retry or cancel several sagas in `exception`; `dry_run` (the default) says what
        each would do and sends nothing (operators only; each request audited)."""
        states = await ctx.read("changelog")
        items = []
        for key in dict.fromkeys(body.keys):
            try:
                in_exception(states, key)
            except NotInException as exc:
                outcome = "not-found" if exc.state is None else "conflict"
                items.append({"saga_key": key, "outcome": outcome, "detail": str(exc)})
                continue
            if body.dry_run:
                items.append({"saga_key": key, "outcome": f"would-{body.action}"})
                continue
            try:
                await ctx.operations.resolve(body.action, key, states, who.name, body.reason)
            except Exception as exc:
                await _audit(ctx, who.name, request, f"error:{type(exc).__name__}", {"key": key})
                items.append({"saga_key": key, "outcome": "failed", "detail": "Kafka unavailable"})
                continue
            items.append({"saga_key": key, "outcome": "requested"})
        return {"action": body.action, "dry_run": body.dry_run, "items": items}

    @app.post(
        f"{API}/dlq/replay/bulk",
        response_model=models.ReplayBulkResult,
        responses=errors,
        tags=["operate"],
    )
    async def bulk_replay(
        request: Request, ctx: Ctx, who: Operator, body: models.BulkReplayRequest
    ) -> dict[str, Any]:
        """Replay every dead letter of a topic and error class; `dry_run` (the default) lists
        what would be replayed and sends nothing (operators only; audited)."""
        try:
            return await ctx.operations.replay_matching(
                body.topic, body.error_class, who.name, dry_run=body.dry_run
            )
        except Exception as exc:
            await _audit(ctx, who.name, request, f"error:{type(exc).__name__}", body.model_dump())
            raise HTTPException(503, "replay failed: Kafka unavailable") from exc

    @app.post(
        f"{API}/exceptions/{{saga_key}}/note",
        response_model=models.NoteResult,
        responses=errors,
        tags=["operate"],
    )
    async def note(
        ctx: Ctx, who: Operator, saga_key: SagaKey, body: models.NoteRequest
    ) -> dict[str, Any]:
        """Leave a note on a saga's exception, optionally naming its new owner (operators
        only; kept on the audit topic, which is where the page reads notes from)."""
        record = AuditRecord(
            action=NOTE_ACTION,
            action_id=new_action_id("exceptions-note"),
            by=who.name,
            at=now_utc(),
            target=saga_key,
            details={"note": body.note, "owner": body.owner},
            via="api",
        )
        try:
            await ctx.operations.audit(record)
        except Exception as exc:
            raise HTTPException(503, "audit log unavailable") from exc
        return {"saga_key": saga_key, "noted": True}
