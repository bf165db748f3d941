"""Dataverse Web API emulator (platforms.md §2).

- `PATCH /api/data/v9.2/<set>(<key>='<value>')` upserts by alternate key, 204 either way;
  `If-Match: *` forbids create (404), `If-None-Match: *` forbids update (412).
- Over the limit: 429 + `Retry-After` (seconds) with the service-protection error code.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from engine.emulators.base import Emulator, RecordStore

_BY_ID = re.compile(r"^(?P<set>\w+)\((?P<id>[0-9a-fA-F-]{36})\)$")
_EQ = re.compile(r"(\w+) eq ('(?:[^']|'')*'|[0-9a-fA-F-]{36})")


def _selected(row: dict[str, object], select: list[str]) -> dict[str, object]:
    return {k: row.get(k) for k in select} if select else dict(row)


_KEYED = re.compile(r"^(?P<set>\w+)\((?P<field>\w+)='(?P<value>(?:[^']|'')*)'\)$")


def dv_error(status: int, code: str, **headers: str) -> Response:
    return JSONResponse(
        {"error": {"code": code, "message": code}}, status_code=status, headers=headers
    )


class DynamicsEmulator(Emulator):
    name = "dynamics"

    def __init__(self, *, rate_per_s: float | None = None, retry_after_s: int = 1) -> None:
        super().__init__(rate_per_s=rate_per_s)
        self.store = RecordStore("00000000-0000-0000-0000-")
        self.retry_after_s = retry_after_s

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/data/{version}/{target}", self._patch, methods=["PATCH"]),
            Route("/api/data/{version}/{target}", self._get, methods=["GET"]),
        ]

    def limit_reply(self) -> Response:
        return dv_error(429, "0x80072322", **{"Retry-After": str(self.retry_after_s)})

    def seed(self, entity_set: str, fields: dict[str, object], row_id: str | None = None) -> str:
        return self.store.insert(entity_set, fields, row_id)

    async def _get(self, request: Request) -> Response:
        """A row by id (`set(<guid>)`) or the rows matching `$filter` (`a eq b and ...`)."""
        target = unquote(request.path_params["target"])
        select = [f for f in request.query_params.get("$select", "").split(",") if f]
        by_id = _BY_ID.match(target)
        if by_id is not None:
            row = self.store.of(by_id["set"]).get(by_id["id"])
            if row is None:
                return dv_error(404, "0x80040217")
            self.reads.append((by_id["set"], by_id["id"]))
            return JSONResponse(_selected(row, select))
        where = dict(_EQ.findall(request.query_params.get("$filter", "")))
        rows = [
            _selected(r, select)
            for r in self.store.of(target).values()
            if all(str(r.get(k)) == v.strip("'").replace("''", "'") for k, v in where.items())
        ]
        self.reads.append((target, request.query_params.get("$filter", "")))
        return JSONResponse({"value": rows})

    def find(self, entity_set: str, field: str, value: str) -> list[dict[str, object]]:
        return [self.store.of(entity_set)[r] for r in self.store.find(entity_set, field, value)]

    async def _patch(self, request: Request) -> Response:
        match = _KEYED.match(unquote(request.path_params["target"]))
        if match is None:
            return dv_error(400, "0x80060888")
        entity_set, field = match["set"], match["field"]
        value = match["value"].replace("''", "'")
        body = json.loads(await request.body() or b"{}")
        found = self.store.find(entity_set, field, value)
        if found and request.headers.get("if-none-match") == "*":
            return dv_error(412, "0x80040237")
        if not found and request.headers.get("if-match") == "*":
            return dv_error(404, "0x80040217")
        if found:
            self.store.of(entity_set)[found[0]].update(body)
            self.record(request, "update", entity_set, value, body)
            rid = found[0]
        else:
            rid = self.store.insert(entity_set, {**body, field: value})
            self.record(request, "create", entity_set, value, body)
        entity_id = f"{request.base_url}api/data/v9.2/{entity_set}({rid})"
        return Response(status_code=204, headers={"OData-EntityId": entity_id})
