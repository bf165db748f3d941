"""SAP S/4HANA OData V2 emulator of API_ENTERPRISE_PROJECT_SRV (platforms.md §4).

- `GET` with `X-CSRF-Token: Fetch` answers a token and a session cookie; POST/PATCH need
  both, else **403** with `X-CSRF-Token: Required`. `expire_csrf()` invalidates every token.
- `GET A_EnterpriseProject?$filter=ProjectExternalID eq '<v>'` lists matches (`d.results`);
  `POST` creates (201, `d` with `ProjectUUID` and `__metadata.etag`) with no duplicate check,
  as the real API: check-before-create is the client's job.
- `GET/PATCH A_EnterpriseProject(guid'<uuid>')`; PATCH needs the current ETag in `If-Match`
  (412 otherwise).
- Read-only entity sets of any service (the read-backs of notification events: sales orders,
  business partners, billing documents, project elements), filled with `seed(object, record,
  key)`: `GET <Set>('<key>')` (or `guid'<key>'`) and `GET <Set>?$filter=A eq 'x' and B eq 'y'`
  with `$top`/`$skip`, both answering only the `$select`ed properties, as OData V2 does.
- Journal Entry - Post (Synchronous), SOAP (`JOURNAL_ENTRY_PATH`, no CSRF token): posts every
  request, duplicates included (no repeatable requests), answers a confirmation with the new
  `AccountingDocument`, and makes its items readable in `API_JOURNALENTRYITEMBASIC_SRV/
  A_JournalEntryItemBasic` (one record per item, with the header's `DocumentReferenceID`).
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from engine.connectors.mapping.engine import READBACK
from engine.connectors.mapping.model import ReadBack
from engine.connectors.mapping.paths import resolve
from engine.connectors.xmldoc import find, parse_xml, to_document
from engine.emulators.base import Emulator

ROOT = "/sap/opu/odata/sap"
PROJECT_SERVICE = "API_ENTERPRISE_PROJECT_SRV;v=0002"
ENTITY = "A_EnterpriseProject"
_FILTER = re.compile(r"^(\w+) eq '((?:[^']|'')*)'$")
_BY_KEY = re.compile(rf"^{ENTITY}\(guid'([0-9a-f-]+)'\)$")
_ENTITY_KEY = re.compile(r"^(\w+)\((?:guid)?'((?:[^']|'')*)'\)$")
COOKIE = "SAP_SESSIONID_Q2C"
JOURNAL_ENTRY_PATH = "/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi"
JOURNAL_ITEMS = "API_JOURNALENTRYITEMBASIC_SRV/A_JournalEntryItemBasic"
CONFIRMATION = """<?xml version="1.0" encoding="utf-8"?>
<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body>
<n0:JournalEntryBulkCreateConfirmation xmlns:n0="http://sap.com/xi/SAPSCORE/SFIN">
<JournalEntryCreateConfirmation><JournalEntryCreateConfirmation>
<AccountingDocument>{document}</AccountingDocument><CompanyCode>{company}</CompanyCode>
<FiscalYear>{year}</FiscalYear></JournalEntryCreateConfirmation>
<Log><MaximumLogItemSeverityCode>{severity}</MaximumLogItemSeverityCode></Log>
</JournalEntryCreateConfirmation></n0:JournalEntryBulkCreateConfirmation>
</soap-env:Body></soap-env:Envelope>"""


def sap_error(status: int, code: str, **headers: str) -> Response:
    body = {"error": {"code": code, "message": {"lang": "en", "value": code}}}
    return JSONResponse(body, status_code=status, headers=headers)


class SapEmulator(Emulator):
    name = "sap"

    def __init__(self, *, rate_per_s: float | None = None) -> None:
        super().__init__(rate_per_s=rate_per_s)
        self.projects: dict[str, dict[str, Any]] = {}
        # "<service>/<entity set>" -> key (or a running number) -> record, read-only.
        self.entities: dict[str, dict[str, dict[str, Any]]] = {}
        self.sessions: dict[str, str] = {}  # cookie -> csrf token
        self.csrf_fetches = 0
        self.journal_entries: dict[str, dict[str, Any]] = {}  # accounting document -> entry
        self.entities[JOURNAL_ITEMS] = {}  # readable (empty) before the first posting

    def routes(self) -> list[BaseRoute]:
        return [
            Route(JOURNAL_ENTRY_PATH, self._post_journal_entry, methods=["POST"]),
            Route(
                f"{ROOT}/{PROJECT_SERVICE}/{{rest:path}}",
                self._serve,
                methods=["GET", "POST", "PATCH"],
            ),
            Route(ROOT + "/{service}/{rest:path}", self._read_only, methods=["GET"]),
        ]

    def seed(self, obj: str, record: dict[str, Any], key: str | None = None) -> None:
        """Store `record` in the entity set `obj` (`<service>/<set>`), by `key` if given."""
        found = self.entities.setdefault(obj, {})
        found[key if key is not None else f"#{len(found)}"] = dict(record)

    def seed_answers(self, specs: Sequence[ReadBack], doc: Mapping[str, Any]) -> None:
        """Store each read-back answer in `doc["readback"]` where the mapping reads it: by
        the key its `id` resolves to, or with the field values its `where` filters on."""
        answers = doc[READBACK]
        for spec in specs:
            if spec.id is not None:
                key = resolve(doc, spec.id if isinstance(spec.id, str) else spec.id[0])
                self.seed(spec.object, answers[spec.name], str(key))
                continue
            where = {
                k: resolve(doc, p if isinstance(p, str) else p[0])
                for k, p in (spec.where or {}).items()
            }
            for record in answers[spec.name]:
                self.seed(spec.object, {**record, **where})

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
        if request.method == "GET" and not rest.startswith(ENTITY + "("):
            return self._read(PROJECT_SERVICE, rest, request)
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

    async def _read_only(self, request: Request) -> Response:
        return self._read(request.path_params["service"], request.path_params["rest"], request)

    def _read(self, service: str, rest: str, request: Request) -> Response:
        selected = [f for f in request.query_params.get("$select", "").split(",") if f]

        def shown(record: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in record.items() if not selected or k in selected}

        keyed = _ENTITY_KEY.match(rest)
        if keyed is not None:
            key = keyed[2].replace("''", "'")
            record = self.entities.get(f"{service}/{keyed[1]}", {}).get(key)
            if record is None:
                return sap_error(404, "RESOURCE_NOT_FOUND")
            self.reads.append((keyed[1], key))
            return JSONResponse({"d": shown(record)})
        records = self.entities.get(f"{service}/{rest}")
        if records is None:
            return sap_error(404, "RESOURCE_NOT_FOUND")
        expr = request.query_params.get("$filter", "")
        clauses = [_FILTER.match(c.strip()) for c in expr.split(" and ")] if expr else []
        if any(c is None for c in clauses):
            return sap_error(400, "INVALID_FILTER")
        wanted = {c[1]: c[2].replace("''", "'") for c in clauses if c is not None}
        found = [r for r in records.values() if all(r.get(k) == v for k, v in wanted.items())]
        skip = int(request.query_params.get("$skip", "0"))
        top = int(request.query_params.get("$top", str(len(found))))
        self.reads.append((rest, expr))
        return JSONResponse({"d": {"results": [shown(r) for r in found[skip : skip + top]]}})

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

    async def _post_journal_entry(self, request: Request) -> Response:
        entry_node = find(parse_xml(await request.body()), "JournalEntry")
        entry = to_document(entry_node) if entry_node is not None else None
        if not isinstance(entry, dict) or not entry.get("CompanyCode"):
            reply = CONFIRMATION.format(document="0000000000", company="", year="", severity="3")
            return Response(reply, status_code=500, media_type="text/xml")
        document = f"{len(self.journal_entries) + 100000001:010d}"
        year = str(entry.get("PostingDate", ""))[:4]
        self.journal_entries[document] = entry
        items = entry.get("Item") or []
        for item in items if isinstance(items, list) else [items]:
            money = item.get("AmountInTransactionCurrency") or {}
            self.seed(
                JOURNAL_ITEMS,
                {
                    "CompanyCode": entry["CompanyCode"],
                    "FiscalYear": year,
                    "AccountingDocument": document,
                    "DocumentReferenceID": entry.get("DocumentReferenceID", ""),
                    "GLAccount": item.get("GLAccount", ""),
                    "AmountInTransactionCurrency": money.get("#text", ""),
                    "TransactionCurrency": money.get("@currencyCode", ""),
                },
            )
        self.record(request, "create", "JournalEntry", entry.get("DocumentReferenceID", ""), entry)
        reply = CONFIRMATION.format(
            document=document, company=entry["CompanyCode"], year=year, severity="1"
        )
        return Response(reply, media_type="text/xml")
