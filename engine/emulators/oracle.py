"""Oracle Fusion REST emulator: projects, receivablesInvoices, standardReceipts (platforms.md §5).

- `POST …/projects` with `Upsert-Mode: true` updates the project with the same `ProjectNumber`
  instead of creating a second one; without it, POST always creates.
- `GET …/<resource>?q=<Field>='<value>'` finds; `PATCH …/<resource>/<id>` updates.
- `receivablesInvoices` has no upsert; its PATCH may only change `InvoiceStatus`,
  `PaymentTerms` and `TransactionDate` (400 otherwise).
- Every create or update stamps `LastUpdateDate` (ISO 8601, milliseconds, UTC offset);
  `q=LastUpdateDate>='<time>'` filters on it, `orderBy=<Field>:asc`, `limit`/`offset` page
  with `hasMore`: what the receivables poller relies on.
- `standardReceipts` (a receipt and its `remittanceReferences`) are created by the test
  (`receive_payment`), as a cashier would in Oracle.
- `projectBillingEvents` as the other resources (no upsert; found by `SourceReference`).
- `projectBudgets`: `GET ?q=ProjectNumber='<n>';PlanVersionName='<v>'` (finders joined by `;`)
  answers versions with their `PlanningResources[].PlanningAmounts[]` children; `POST` creates
  a version and numbers its children (`PlanVersionId`, `PlanningElementId`, `PlanLineId`);
  `PATCH …/projectBudgets/<id>/child/PlanningResources/<id>/child/PlanningAmounts/<id>`
  updates one amount line.
- Errors: `{title, status, o:errorDetails: [{detail, o:errorCode, o:errorPath}]}`.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from engine.emulators.base import Emulator, RecordStore

BASE = "/fscmRestApi/resources/11.13.18.05"
KEYS = {
    "projects": ("ProjectId", "ProjectNumber"),
    "receivablesInvoices": ("CustomerTransactionId", "TransactionNumber"),
    "standardReceipts": ("StandardReceiptId", "ReceiptNumber"),
    "projectBillingEvents": ("EventId", "SourceReference"),
    "projectBudgets": ("PlanVersionId", "ProjectNumber"),
}
BUDGETS = BASE + "/projectBudgets"
BUDGET_LINE = BUDGETS + "/{version}/child/PlanningResources/{element}/child/PlanningAmounts/{line}"
INVOICE_PATCHABLE = {"InvoiceStatus", "PaymentTerms", "TransactionDate"}
_Q = re.compile(r"^(\w+)(=|>=)'((?:[^']|'')*)'$")


def ora_error(status: int, code: str, path: str | None = None) -> Response:
    detail: dict[str, Any] = {"detail": code, "o:errorCode": code}
    if path:
        detail["o:errorPath"] = path
    return JSONResponse(
        {"title": code, "status": str(status), "o:errorDetails": [detail]}, status_code=status
    )


class OracleEmulator(Emulator):
    name = "oracle"

    def __init__(self, *, rate_per_s: float | None = None) -> None:
        super().__init__(rate_per_s=rate_per_s)
        self.store = RecordStore("3000000")
        self._clock_lock = threading.Lock()
        self._last_stamp = datetime(2000, 1, 1, tzinfo=UTC)

    def stamp(self) -> str:
        """A `LastUpdateDate` that never goes back (a millisecond after the last, at least)."""
        with self._clock_lock:
            now = datetime.now(UTC)
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)
            self._last_stamp = max(now, self._last_stamp + timedelta(milliseconds=1))
            return self._last_stamp.isoformat(timespec="milliseconds")

    def receive_payment(self, number: str, references: dict[str, str], currency: str) -> str:
        """A receipt applied to invoices (`TransactionNumber` -> amount), as Oracle records it."""
        rid = self.store.new_id()
        self.store.of("standardReceipts")[rid] = {
            "StandardReceiptId": rid,
            "ReceiptNumber": number,
            "Currency": currency,
            "Amount": str(sum(float(a) for a in references.values())),
            "ReceiptDate": datetime.now(UTC).date().isoformat(),
            "LastUpdateDate": self.stamp(),
            "remittanceReferences": [
                {"ReferenceNumber": ref, "ReferenceAmount": amount}
                for ref, amount in references.items()
            ],
        }
        return rid

    def routes(self) -> list[BaseRoute]:
        return [
            Route(BUDGETS, self._budgets, methods=["GET", "POST"]),
            Route(BUDGET_LINE, self._budget_line, methods=["PATCH"]),
            Route(BASE + "/{resource}", self._collection, methods=["GET", "POST"]),
            Route(BASE + "/{resource}/{rid}", self._item, methods=["GET", "PATCH"]),
        ]

    def items(self, resource: str) -> list[dict[str, Any]]:
        return list(self.store.of(resource).values())

    async def _collection(self, request: Request) -> Response:
        resource = request.path_params["resource"]
        if resource not in KEYS:
            return ora_error(404, "NOT_FOUND")
        id_field, number_field = KEYS[resource]
        if request.method == "GET":
            found = self.items(resource)
            params = request.query_params
            if (q := params.get("q")) is not None:
                match = _Q.match(q)
                if match is None:
                    return ora_error(400, "INVALID_QUERY")
                field, op, value = match[1], match[2], match[3].replace("''", "'")
                if op == "=":
                    found = [r for r in found if str(r.get(field)) == value]
                else:
                    since = datetime.fromisoformat(value)
                    found = [
                        r for r in found
                        if r.get(field) and datetime.fromisoformat(str(r[field])) >= since
                    ]  # fmt: skip
            if (order := params.get("orderBy")) is not None:
                field, _, direction = order.partition(":")
                found.sort(key=lambda r: str(r.get(field, "")), reverse=direction == "desc")
            offset, limit = int(params.get("offset", 0)), int(params.get("limit", 25))
            page = found[offset : offset + limit]
            more = offset + len(page) < len(found)
            return JSONResponse({"items": page, "count": len(page), "hasMore": more})
        body = json.loads(await request.body() or b"{}")
        if number_field not in body:
            return ora_error(400, "REQUIRED", number_field)
        upsert = request.headers.get("upsert-mode") == "true" and resource == "projects"
        existing = self.store.find(resource, number_field, body[number_field])
        if upsert and existing:
            record = self.store.of(resource)[existing[0]]
            record.update(body, LastUpdateDate=self.stamp())
            self.record(request, "update", resource, body[number_field], body)
            return JSONResponse(record, status_code=200)
        rid = self.store.new_id()
        record = {**body, id_field: rid, "LastUpdateDate": self.stamp()}
        if resource == "receivablesInvoices":
            record["InvoiceStatus"] = "Incomplete"
        self.store.of(resource)[rid] = record
        self.record(request, "create", resource, body[number_field], body)
        return JSONResponse(record, status_code=201)

    async def _item(self, request: Request) -> Response:
        resource, rid = request.path_params["resource"], request.path_params["rid"]
        record = self.store.of(resource).get(rid)
        if resource not in KEYS or record is None:
            return ora_error(404, "NOT_FOUND")
        if request.method == "GET":
            self.reads.append((resource, rid))
            return JSONResponse(record)
        body = json.loads(await request.body() or b"{}")
        if resource == "receivablesInvoices" and (bad := set(body) - INVOICE_PATCHABLE):
            return ora_error(400, "NOT_UPDATABLE", sorted(bad)[0])
        record.update(body, LastUpdateDate=self.stamp())
        kind = "complete" if body.get("InvoiceStatus") == "Complete" else "update"
        self.record(request, kind, resource, str(record[KEYS[resource][1]]), body)
        return JSONResponse(record)

    async def _budgets(self, request: Request) -> Response:
        versions = self.store.of("projectBudgets")
        if request.method == "GET":
            wanted: dict[str, str] = {}
            for clause in request.query_params.get("q", "").split(";"):
                match = _Q.match(clause)
                if match is None or match[2] != "=":
                    return ora_error(400, "INVALID_QUERY")
                wanted[match[1]] = match[3].replace("''", "'")
            found = [v for v in versions.values() if all(v.get(k) == x for k, x in wanted.items())]
            return JSONResponse({"items": found, "count": len(found), "hasMore": False})
        body = json.loads(await request.body() or b"{}")
        if "ProjectNumber" not in body:
            return ora_error(400, "REQUIRED", "ProjectNumber")
        version = {**body, "PlanVersionId": self.store.new_id(), "PlanningResources": []}
        for resource in body.get("PlanningResources") or []:
            lines = [
                {**line, "PlanLineId": self.store.new_id()}
                for line in resource.get("PlanningAmounts") or []
            ]
            version["PlanningResources"].append(
                {**resource, "PlanningElementId": self.store.new_id(), "PlanningAmounts": lines}
            )
        versions[version["PlanVersionId"]] = version
        self.record(request, "create", "projectBudgets", body["ProjectNumber"], body)
        return JSONResponse(version, status_code=201)

    async def _budget_line(self, request: Request) -> Response:
        params = request.path_params
        version = self.store.of("projectBudgets").get(params["version"])
        resource = next(
            (
                r
                for r in (version or {}).get("PlanningResources", [])
                if r["PlanningElementId"] == params["element"]
            ),
            None,
        )
        line = next(
            (
                a
                for a in (resource or {}).get("PlanningAmounts", [])
                if a["PlanLineId"] == params["line"]
            ),
            None,
        )
        if version is None or line is None:
            return ora_error(404, "NOT_FOUND")
        body = json.loads(await request.body() or b"{}")
        line.update(body)
        self.record(request, "update", "projectBudgets", version["ProjectNumber"], body)
        return JSONResponse(line)
