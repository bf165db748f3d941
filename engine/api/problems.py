"""422 answers that name the field and the rule it broke, never the value that was sent."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


async def validation_problem(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 shape (`detail: [{loc, msg, type}]`) without `input` and `ctx`."""
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()[:20]  # a huge invalid body must not make a huge answer
    ]
    return JSONResponse({"detail": detail}, status_code=422)
