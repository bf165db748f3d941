"""Puts the worker's FastAPI app behind the guard layers, with the settings' limits."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from engine.api.config import ApiSettings
from engine.api.guard import guarded
from engine.api.problems import validation_problem
from engine.api.refusals import RefusalLedger

DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


def harden(app: FastAPI, api: ApiSettings) -> tuple[Any, RefusalLedger]:
    """The ASGI app to serve and the ledger of refused calls (close it on shutdown).

    Swagger UI and ReDoc load scripts from a public CDN, which the page's CSP forbids, so
    they are removed unless `Q2C_API_DOCS=true`; the OpenAPI document stays at /openapi.json.
    """
    ctx = app.state.q2c
    app.add_exception_handler(RequestValidationError, validation_problem)
    if not api.api_docs:
        app.router.routes[:] = [
            r for r in app.router.routes if getattr(r, "path", None) not in DOCS_PATHS
        ]
    ledger = RefusalLedger(ctx.operations.audit, api.api_refusal_audit_interval_s)
    served = guarded(
        app,
        authority=ctx.authority,
        sessions=ctx.sessions,
        ledger=ledger,
        max_body=api.api_max_body_bytes,
        deadline_s=api.api_deadline_s,
        failures_per_minute=api.api_auth_failures_per_minute,
    )
    return served, ledger
