"""NetSuite REST Record API emulator (platforms.md §3).

- `PUT /services/rest/record/v1/<type>/eid:<value>` upserts by external id (204 + Location);
  `PATCH …/<type>/<id or eid:value>` updates (404 when missing); `GET` reads.
- `POST …/<type>` creates (not idempotent). With `Prefer: respond-async` and
  `X-NetSuite-Idempotency-Key`, the request becomes an async job: 202 + `Location` of the job;
  a repeated key answers **400 `IDEMPOTENCY_ERROR`** with the original job's `Location`, and
  is not executed again. `GET /services/rest/async/v1/job/<id>` reports completion and
  `…/task/<id>/result` gives the record's `Location`.
- Token-based auth besides OAuth 2.0: `Authorization: OAuth realm="<account>", ...` signed
  with HMAC-SHA256 over the RFC 5849 base string, checked against the emulator's consumer and
  token secrets (`TBA`); a wrong secret, method, realm or key is 401 `INVALID_LOGIN`.
- Errors: `{status, o:errorDetails: [{detail, o:errorCode, o:errorPath}]}`; over the limit:
  429 with `SSS_REQUEST_LIMIT_EXCEEDED` (no Retry-After is documented).
"""

from __future__ import annotations

import hmac
import json
import warnings
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from engine.connectors.netsuite.tba import (
    SIGNATURE_HMAC_SHA256,
    TokenBasedAuth,
    hmac_sha256_signature,
)
from engine.emulators.base import Emulator, RecordStore

with warnings.catch_warnings():
    from authlib.deprecate import AuthlibDeprecationWarning

    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.oauth1.rfc5849.signature import generate_signature_base_string
    from authlib.oauth1.rfc5849.wrapper import OAuth1Request

# The integration record and access token the emulated account knows (not real secrets).
TBA = TokenBasedAuth(
    account_id="1234567_SB1",
    consumer_key="q2c-consumer-key",
    consumer_secret="emulator-consumer-secret",  # type: ignore[arg-type]
    token_id="q2c-token-id",
    token_secret="emulator-token-secret",  # type: ignore[arg-type]
)
RECORD = "/services/rest/record/v1"
ASYNC = "/services/rest/async/v1"


def ns_error(status: int, code: str, path: str | None = None, **headers: str) -> Response:
    detail: dict[str, Any] = {"detail": code.lower(), "o:errorCode": code}
    if path:
        detail["o:errorPath"] = path
    return JSONResponse(
        {"status": status, "o:errorDetails": [detail]}, status_code=status, headers=headers
    )


class NetSuiteEmulator(Emulator):
    name = "netsuite"

    def __init__(self, *, rate_per_s: float | None = None) -> None:
        super().__init__(rate_per_s=rate_per_s)
        self.store = RecordStore("")
        self.jobs: dict[str, str] = {}  # job id -> record Location
        self.job_keys: dict[str, str] = {}  # idempotency key -> job id
        self.required: dict[str, tuple[str, ...]] = {"job": ("companyName",)}
        self.tba_requests = 0  # well-formed TBA requests whose signature was checked

    async def authenticated(self, request: Request) -> bool:
        if request.headers.get("authorization", "").startswith("OAuth "):
            return self._tba_valid(request, await request.body())
        return await super().authenticated(request)

    def _tba_valid(self, request: Request, body: bytes) -> bool:
        # authlib's server-side parser looks the header up by its canonical name.
        headers = {"Authorization": request.headers["authorization"]}
        signed = OAuth1Request(request.method, str(request.url), body, headers)
        params = dict(signed.oauth_params)
        if (
            signed.realm != TBA.account_id
            or params.get("oauth_signature_method") != SIGNATURE_HMAC_SHA256
            or params.get("oauth_consumer_key") != TBA.consumer_key
            or params.get("oauth_token") != TBA.token_id
        ):
            return False
        expected = hmac_sha256_signature(
            generate_signature_base_string(signed),
            TBA.consumer_secret.get_secret_value(),
            TBA.token_secret.get_secret_value(),
        )
        self.tba_requests += 1
        return hmac.compare_digest(expected, signed.signature or "")

    def unauthorized_reply(self) -> Response:
        return ns_error(401, "INVALID_LOGIN")

    def routes(self) -> list[BaseRoute]:
        return [
            Route(ASYNC + "/job/{job}", self._job, methods=["GET"]),
            Route(ASYNC + "/job/{job}/task/{task}/result", self._result, methods=["GET"]),
            Route(RECORD + "/{type}", self._create, methods=["POST"]),
            Route(RECORD + "/{type}/{ref}", self._record, methods=["GET", "PUT", "PATCH"]),
        ]

    def limit_reply(self) -> Response:
        return ns_error(429, "SSS_REQUEST_LIMIT_EXCEEDED")

    def records(self, record_type: str) -> dict[str, dict[str, Any]]:
        return self.store.of(record_type)

    def by_external_id(self, record_type: str, value: str) -> dict[str, Any] | None:
        found = self.store.find(record_type, "externalId", value)
        return self.store.of(record_type)[found[0]] if found else None

    def _location(self, request: Request, record_type: str, rid: str) -> str:
        return f"{request.base_url}{RECORD.lstrip('/')}/{record_type}/{rid}"

    def _resolve(self, record_type: str, ref: str) -> str | None:
        if ref.startswith("eid:"):
            found = self.store.find(record_type, "externalId", ref[4:])
            return found[0] if found else None
        return ref if ref in self.store.of(record_type) else None

    def _missing(self, record_type: str, body: dict[str, Any]) -> str | None:
        return next((f for f in self.required.get(record_type, ()) if f not in body), None)

    async def _record(self, request: Request) -> Response:
        record_type, ref = request.path_params["type"], request.path_params["ref"]
        rid = self._resolve(record_type, ref)
        if request.method == "GET":
            if rid is None:
                return ns_error(404, "NONEXISTENT_ID")
            return JSONResponse({"id": rid, **self.store.of(record_type)[rid]})
        body = json.loads(await request.body() or b"{}")
        if request.method == "PATCH":
            if rid is None:
                return ns_error(404, "NONEXISTENT_ID")
            self.store.of(record_type)[rid].update(body)
            self.record(request, "update", record_type, ref, body)
            return Response(status_code=204)
        if not ref.startswith("eid:"):  # PUT upserts only by external id
            return ns_error(400, "INVALID_REQUEST")
        if rid is None:
            if missing := self._missing(record_type, body):
                return ns_error(400, "USER_ERROR", missing)
            rid = self.store.insert(record_type, {**body, "externalId": ref[4:]})
            self.record(request, "create", record_type, ref[4:], body)
        else:
            self.store.of(record_type)[rid].update(body)
            self.record(request, "update", record_type, ref[4:], body)
        return Response(
            status_code=204, headers={"Location": self._location(request, record_type, rid)}
        )

    async def _create(self, request: Request) -> Response:
        record_type = request.path_params["type"]
        body = json.loads(await request.body() or b"{}")
        key = request.headers.get("x-netsuite-idempotency-key")
        asynchronous = "respond-async" in request.headers.get("prefer", "")
        if asynchronous and key is not None and key in self.job_keys:
            location = f"{request.base_url}{ASYNC.lstrip('/')}/job/{self.job_keys[key]}"
            return ns_error(400, "IDEMPOTENCY_ERROR", Location=location)
        if missing := self._missing(record_type, body):
            return ns_error(400, "USER_ERROR", missing)
        rid = self.store.insert(record_type, body)
        self.record(request, "create", record_type, rid, body)
        record_location = self._location(request, record_type, rid)
        if not asynchronous:
            return Response(status_code=204, headers={"Location": record_location})
        job = f"{len(self.jobs) + 1}"
        self.jobs[job] = record_location
        if key is not None:
            self.job_keys[key] = job
        location = f"{request.base_url}{ASYNC.lstrip('/')}/job/{job}"
        return Response(status_code=202, headers={"Location": location})

    async def _job(self, request: Request) -> Response:
        job = request.path_params["job"]
        if job not in self.jobs:
            return ns_error(404, "NONEXISTENT_ID")
        return JSONResponse({"id": job, "completed": True, "progress": "succeeded", "task": job})

    async def _result(self, request: Request) -> Response:
        job = request.path_params["job"]
        if job not in self.jobs:
            return ns_error(404, "NONEXISTENT_ID")
        return Response(status_code=204, headers={"Location": self.jobs[job]})
