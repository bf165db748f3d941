"""Salesforce REST API emulator (also serves Certinia, whose objects live in a Salesforce org).

Documented semantics implemented (platforms.md §1):
- `PATCH /services/data/vXX.X/sobjects/<Object>/<ExtIdField>/<value>`: 201 + created when no
  record matches, 200 + update when one does, **300** with the matches when several do;
  `?updateOnly=true` gives 404 instead of creating; Id or the external-id field in the body is
  a 400 `INVALID_FIELD`.
- `POST /services/data/vXX.X/composite`: subrequests in order, `@{ref.id}` references,
  `allOrNone` rolls every effect back when one fails; always HTTP 200 at the top.
- Over the limit: **403** `REQUEST_LIMIT_EXCEEDED` (no Retry-After).
- The `Sforce-Call-Options: client=<id>` header is recorded on each effect (CDC's
  `changeOrigin`), so a test can check every q2c write is marked.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from engine.emulators.base import Effect, Emulator, RecordStore

API = "/services/data/{version}"
_REF = re.compile(r"@\{([A-Za-z0-9_]+)\.id\}")
_SOQL = re.compile(r"SELECT (.+) FROM (\w+) WHERE (.+)")
_CONDITION = re.compile(r"(\w+) = '((?:[^'\\]|\\.)*)'")


def _unescape(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal)


class _Reply:
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        self.status, self.body, self.headers = status, body, headers or {}


def _error(status: int, code: str, fields: list[str] | None = None) -> _Reply:
    return _Reply(status, [{"message": code.lower(), "errorCode": code, "fields": fields or []}])


class SalesforceEmulator(Emulator):
    name = "salesforce"

    def __init__(self, *, rate_per_s: float | None = None) -> None:
        super().__init__(rate_per_s=rate_per_s)
        self.store = RecordStore("a0X")

    def routes(self) -> list[BaseRoute]:
        return [
            Route(API + "/composite", self._composite, methods=["POST"]),
            Route(API + "/query", self._query, methods=["GET"]),
            Route(API + "/sobjects/{rest:path}", self._sobjects, methods=["PATCH", "GET"]),
        ]

    def limit_reply(self) -> Response:
        body = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        return JSONResponse(body, status_code=403)

    def client_of(self, request: Request) -> str | None:
        options = request.headers.get("sforce-call-options", "")
        for part in options.split(","):
            name, _, value = part.strip().partition("=")
            if name == "client":
                return value
        return None

    def seed(self, obj: str, fields: dict[str, Any], record_id: str | None = None) -> str:
        """Put a record in the org (as if created by a user); returns its Id."""
        return self.store.insert(obj, fields, record_id)

    def fields_of(self, obj: str, ext_field: str, value: str) -> list[dict[str, Any]]:
        return [self.store.of(obj)[rid] for rid in self.store.find(obj, ext_field, value)]

    # -- handlers ------------------------------------------------------------------------------

    async def _sobjects(self, request: Request) -> Response:
        body = json.loads(await request.body() or b"{}") if request.method == "PATCH" else None
        reply = self._sobject_call(
            request, request.method, request.url.path, request.url.query, body, self.effects.add
        )
        return _respond(reply)

    def _sobject_call(
        self,
        request: Request,
        method: str,
        path: str,
        query: str,
        body: Any,
        sink: Any,
    ) -> _Reply:
        parts = [unquote(p) for p in path.split("/sobjects/", 1)[1].split("/")]
        client = self.client_of(request)
        if method == "GET" and len(parts) == 2:
            record = self.store.of(parts[0]).get(parts[1])
            if record is None:
                return _error(404, "NOT_FOUND")
            self.reads.append((parts[0], parts[1]))
            wanted = parse_qs(query).get("fields")
            shown = {"Id": parts[1], **record}
            if wanted:
                shown = {k: shown.get(k) for k in ["Id", *wanted[0].split(",")]}
            return _Reply(200, {"attributes": {"type": parts[0]}, **shown})
        if method != "PATCH":
            return _error(405, "METHOD_NOT_ALLOWED")
        if len(parts) == 2:  # update by Id
            obj, rid = parts
            record = self.store.of(obj).get(rid)
            if record is None:
                return _error(404, "NOT_FOUND")
            record.update(body)
            sink(Effect("update", obj, rid, dict(body), client))
            return _Reply(204)
        if len(parts) != 3:
            return _error(404, "NOT_FOUND")
        obj, ext_field, value = parts
        if "Id" in body or ext_field in body:
            return _error(400, "INVALID_FIELD", ["Id" if "Id" in body else ext_field])
        matches = self.store.find(obj, ext_field, value)
        if len(matches) > 1:
            return _Reply(300, [f"/services/data/v60.0/sobjects/{obj}/{m}" for m in matches])
        if matches:
            self.store.of(obj)[matches[0]].update(body)
            sink(Effect("update", obj, value, dict(body), client))
            return _Reply(200, {"id": matches[0], "success": True, "created": False, "errors": []})
        if parse_qs(query).get("updateOnly") == ["true"]:
            return _error(404, "NOT_FOUND")
        rid = self.store.insert(obj, {**body, ext_field: value})
        sink(Effect("create", obj, value, dict(body), client))
        return _Reply(201, {"id": rid, "success": True, "created": True, "errors": []})

    async def _query(self, request: Request) -> Response:
        """SOQL of the shape `SELECT a, b FROM Obj WHERE k = 'v' AND ...` (what q2c sends)."""
        soql = request.query_params.get("q", "")
        m = _SOQL.fullmatch(soql)
        if m is None:
            return _respond(_error(400, "MALFORMED_QUERY"))
        fields, obj, condition = m.group(1), m.group(2), m.group(3)
        where = {k: _unescape(v) for k, v in _CONDITION.findall(condition)}
        self.reads.append((obj, soql))
        names = ["Id", *[f.strip() for f in fields.split(",") if f.strip() != "Id"]]
        records = [
            {"attributes": {"type": obj}, **{n: ({"Id": rid} | r).get(n) for n in names}}
            for rid, r in self.store.of(obj).items()
            if all(str(({"Id": rid} | r).get(k)) == v for k, v in where.items())
        ]
        return JSONResponse({"totalSize": len(records), "done": True, "records": records})

    async def _composite(self, request: Request) -> Response:
        payload = json.loads(await request.body())
        subrequests = payload.get("compositeRequest", [])
        if len(subrequests) > 25:
            return _respond(_error(400, "INVALID_BATCH_REQUEST"))
        all_or_none = bool(payload.get("allOrNone"))
        snapshot = copy.deepcopy(self.store.records)
        staged: list[Effect] = []
        ids: dict[str, str] = {}
        results: list[dict[str, Any]] = []
        failed = False
        for sub in subrequests:
            if failed and all_or_none:
                results.append(_sub(sub, _error(400, "PROCESSING_HALTED")))
                continue
            url = _REF.sub(lambda m: ids.get(m.group(1), m.group(0)), sub["url"])
            body = json.loads(
                _REF.sub(
                    lambda m: ids.get(m.group(1), m.group(0)), json.dumps(sub.get("body") or {})
                )
            )
            split = urlsplit(url)
            reply = self._sobject_call(
                request, sub["method"], split.path, split.query, body, staged.append
            )
            if isinstance(reply.body, dict) and "id" in reply.body:
                ids[sub["referenceId"]] = reply.body["id"]
            failed = failed or reply.status >= 400
            results.append(_sub(sub, reply))
        if failed and all_or_none:
            self.store.records = snapshot
        else:
            for effect in staged:
                self.effects.add(effect)
        return JSONResponse({"compositeResponse": results}, status_code=200)


def _sub(sub: dict[str, Any], reply: _Reply) -> dict[str, Any]:
    return {
        "body": reply.body,
        "httpHeaders": reply.headers,
        "httpStatusCode": reply.status,
        "referenceId": sub["referenceId"],
    }


def _respond(reply: _Reply) -> Response:
    if reply.body is None:
        return Response(status_code=reply.status, headers=reply.headers)
    return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)
