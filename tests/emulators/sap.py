"""SAP S/4HANA OData V2 emulator of API_ENTERPRISE_PROJECT_SRV (platforms.md §4).

- `GET` with `X-CSRF-Token: Fetch` answers a token and a session cookie; POST/PATCH need
  both, else **403** with `X-CSRF-Token: Required`. `expire_csrf()` invalidates every token.
- `GET A_EnterpriseProject?$filter=ProjectExternalID eq '<v>'` lists matches (`d.results`);
  `POST` creates (201, `d` with `ProjectUUID` and `__metadata.etag`) with no duplicate check,
  as the real API: check-before-create is the client's job.
- `GET/PATCH A_EnterpriseProject(guid'<uuid>')`; PATCH needs the current ETag in `If-Match`
  (412 otherwise).
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.emulators.base import Emulator

ENTITY = "A_EnterpriseProject"
_FILTER = re.compile(r"^(\w+) eq '((?:[^']|'')*)'$")
_BY_KEY = re.compile(rf"^{ENTITY}\(guid'([0-9a-f-]+)'\)$")
COOKIE = "SAP_SESSIONID_Q2C"


def sap_error(status: int, code: str, **headers: str) -> Response:
    body = {"error": {"code": code, "message": {"lang": "en", "value": code}}}
    return JSONResponse(body, status_code=status, headers=headers)


class SapEmulator(Emulator):
    name = "sap"

    def __init__(self, *, rate_per_s: float | None = None) -> None:
        super().__init__(rate_per_s=rate_per_s)
        self.projects: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, str] = {}  # cookie -> csrf token
        self.csrf_fetches = 0

    def routes(self) -> list[BaseRoute]:
        service = "/sap/opu/odata/sap/API_ENTERPRISE_PROJECT_SRV;v=0002"
        return [Route(service + "/{rest:path}", self._serve, methods=["GET", "POST", "PATCH"])]

    def expire_csrf(self) -> None:
        self.sessions.clear()

    def by_external_id(self, value: str) -> list[dict[str, Any]]:
        return [p for p in self.projects.values() if p.get("ProjectExternalID") == value]

    def _csrf_ok(self, request: Request) -> bool:
        cookie = request.cookies.get(COOKIE)
        token = request.headers.get("x-csrf-token")
        return cookie is not None and token is not None and self.sessions.get(cookie) == token

    async def _serve(self, request: Request) -> Response:
        rest = request.path_params["rest"]
        if request.method == "GET" and request.headers.get("x-csrf-token", "").lower() == "fetch":
            self.csrf_fetches += 1
            cookie, token = secrets.token_hex(8), secrets.token_urlsafe(12)
            self.sessions[cookie] = token
            reply = JSONResponse({"d": {"EntitySets": [ENTITY]}}, headers={"X-CSRF-Token": token})
            reply.set_cookie(COOKIE, cookie)
            return reply
        if request.method != "GET" and not self._csrf_ok(request):
            return sap_error(403, "CSRF token validation failed", **{"X-CSRF-Token": "Required"})
        if rest == ENTITY:
            return await (self._list(request) if request.method == "GET" else self._create(request))
        match = _BY_KEY.match(rest)
        if match is None or match[1] not in self.projects:
            return sap_error(404, "RESOURCE_NOT_FOUND")
        project = self.projects[match[1]]
        if request.method == "GET":
            self.reads.append((ENTITY, match[1]))
            return JSONResponse({"d": project})
        if request.headers.get("if-match") != project["__metadata"]["etag"]:
            return sap_error(412, "PRECONDITION_FAILED")
        body = json.loads(await request.body() or b"{}")
        project.update(body)
        project["__metadata"]["etag"] = f'W/"{secrets.token_hex(4)}"'
        self.record(request, "update", ENTITY, project["ProjectExternalID"], body)
        return Response(status_code=204)

    async def _list(self, request: Request) -> Response:
        found = list(self.projects.values())
        if (expr := request.query_params.get("$filter")) is not None:
            match = _FILTER.match(expr)
            if match is None:
                return sap_error(400, "INVALID_FILTER")
            field, value = match[1], match[2].replace("''", "'")
            found = [p for p in found if p.get(field) == value]
        return JSONResponse({"d": {"results": found}})

    async def _create(self, request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        if "Project" not in body:
            return sap_error(400, "MISSING_PROJECT")
        project_uuid = str(uuid.uuid4())
        project = {
            **body,
            "ProjectUUID": project_uuid,
            "ProcessingStatus": "00",
            "__metadata": {"etag": f'W/"{secrets.token_hex(4)}"'},
        }
        self.projects[project_uuid] = project
        self.record(request, "create", ENTITY, body.get("ProjectExternalID", ""), body)
        return JSONResponse({"d": project}, status_code=201)
