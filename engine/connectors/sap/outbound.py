"""SAP S/4HANA outbound (OData V2, API_ENTERPRISE_PROJECT_SRV): create-project, close-project,
update-project-budget; recognize-revenue through the Journal Entry - Post SOAP service.

Modifying calls need a CSRF token: fetched with `X-CSRF-Token: Fetch` on a GET, then sent
with the session cookies (httpx keeps them); a 403 answering `X-CSRF-Token: Required` means
the token went stale, so it is fetched again and the call resent once. The API has no
repeatable-request support to rely on, so create-project checks before it creates: the
project is looked up by `ProjectExternalID` (= the q2c deal id) and only created when absent.
Updates carry the entity's ETag in `If-Match`; a 412 (changed meanwhile) rereads and retries,
and a project that already holds the values is not written (a redelivery changes nothing).
update-project-budget writes the amended total into the project's budget fields (custom
fields of the firm's extensibility: API_ENTERPRISE_PROJECT_SRV has no budget property).
recognize-revenue is `engine.connectors.sap.outbound_revenue`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any

import httpx

from engine.adapters.errors import PermanentError
from engine.connectors.outbound.connector import HttpConnector
from engine.connectors.outbound.errors import PlatformError, error_for, parse_body
from engine.connectors.outbound.fields import RecordSpec
from engine.connectors.outbound.replies import project_created
from engine.connectors.sap.outbound_revenue import RevenuePoster, decimal_text
from engine.contracts import CloseProject, Command, CreateProject, Event, RecognizeRevenue
from engine.contracts.commands import UpdateProjectBudget

PLATFORM = "sap"
SERVICE = "/sap/opu/odata/sap/API_ENTERPRISE_PROJECT_SRV;v=0002"


def odata_date(day: date) -> str:
    """OData V2's `/Date(<ms since epoch>)/`."""
    ms = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    return f"/Date({ms})/"


def odata_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _stale_token(reply: httpx.Response) -> bool:
    return reply.status_code == 403 and reply.headers.get("x-csrf-token", "").lower() == "required"


class SapConnector(HttpConnector):
    """Commands of the erp target against SAP S/4HANA."""

    platform = PLATFORM
    commands = frozenset(
        {"create-project", "close-project", "update-project-budget", "recognize-revenue"}
    )

    default_headers = {"Accept": "application/json"}
    required_records = ("project",)
    _token: str | None = None  # the CSRF token, fetched on the first write

    @property
    def entity(self) -> RecordSpec:
        """The project entity's OData names."""
        return self.fields.record("project")

    @cached_property
    def revenue(self) -> RevenuePoster:
        """Journal entries for recognize-revenue, on this connector's HTTP client."""
        return RevenuePoster(self.http, self.fields)

    async def handle(self, command: Command) -> Sequence[Event]:
        if isinstance(command, CreateProject):
            return [
                project_created(command, PLATFORM, await self.create_project(command), self.clock())
            ]
        if isinstance(command, CloseProject):
            await self.close_project(command.project_id)
            return []
        if isinstance(command, UpdateProjectBudget):
            await self.update_project_budget(command)
            return []
        if isinstance(command, RecognizeRevenue):
            await self.revenue.post(command)
            return []
        raise self.unsupported(command)

    async def _fetch_token(self) -> str:
        reply = await self.http.request("GET", f"{SERVICE}/", headers={"X-CSRF-Token": "Fetch"})
        token = reply.headers.get("x-csrf-token")
        if not token:
            raise PlatformError("sap answered no CSRF token")
        self._token = token
        return token

    async def _modify(
        self, method: str, url: str, body: Mapping[str, Any], headers: Mapping[str, str]
    ) -> httpx.Response:
        """A modifying call with the CSRF token; refetched once when SAP says it is stale."""
        for attempt in range(2):
            token = self._token or await self._fetch_token()
            reply = await self.http.request(
                method, url, json=dict(body), headers={**headers, "X-CSRF-Token": token},
                ok=(403, 412),
            )  # fmt: skip
            if _stale_token(reply) and attempt == 0:
                self._token = None
                continue
            error = error_for(PLATFORM, reply.status_code, reply.headers, parse_body(reply.content))
            if error is not None and reply.status_code != 412:
                raise error
            return reply
        raise PlatformError("sap kept refusing the CSRF token")  # pragma: no cover

    async def find_project(self, external_id: str) -> dict[str, Any] | None:
        reply = await self.http.request(
            "GET",
            f"{SERVICE}/{self.entity.name}",
            params={
                "$filter": f"{self.entity.external_id} eq {odata_literal(external_id)}",
                "$format": "json",
            },
        )
        results = reply.json().get("d", {}).get("results", [])
        if len(results) > 1:
            raise PermanentError(f"sap has several projects with one {self.entity.external_id}")
        return results[0] if results else None

    async def create_project(self, command: CreateProject) -> str:
        """Check before create; returns the project's ProjectUUID."""
        found = await self.find_project(command.deal_id)
        if found is None:
            contract = command.contract
            body = {
                **self.entity.defaults,
                "Project": f"Q2C-{command.deal_id}"[:24],
                "ProjectDescription": f"{command.account.name} {contract.contract_id}"[:40],
                self.entity.external_id or "ProjectExternalID": command.deal_id,
                "ProjectStartDate": odata_date(contract.start_date),
                "ProjectEndDate": odata_date(contract.end_date),
            }
            reply = await self._modify("POST", f"{SERVICE}/{self.entity.name}", body, {})
            found = reply.json()["d"]
        return str(found["ProjectUUID"])

    async def close_project(self, project_uuid: str) -> bool:
        """Set the closed processing status; False when the project was closed already."""
        closed = self.fields.record("closed_status").name
        return await self._update_project(project_uuid, {"ProcessingStatus": closed})

    async def update_project_budget(self, command: UpdateProjectBudget) -> bool:
        """Write the amended total into the budget fields; False when they held it already."""
        changes = {
            self.fields.record("budget_field").name: decimal_text(
                command.budget.amount, command.budget.currency
            ),
            self.fields.record("budget_currency_field").name: command.budget.currency,
        }
        return await self._update_project(command.project_id, changes)

    async def _update_project(self, project_uuid: str, changes: Mapping[str, str]) -> bool:
        """PATCH `changes` with the read ETag unless the project has them; True when written."""
        url = f"{SERVICE}/{self.entity.name}(guid'{project_uuid}')"
        for _ in range(2):
            current = (await self.http.request("GET", url, params={"$format": "json"})).json()["d"]
            if all(current.get(name) == value for name, value in changes.items()):
                return False
            etag = current.get("__metadata", {}).get("etag", "*")
            reply = await self._modify("PATCH", url, changes, {"If-Match": etag})
            if reply.status_code != 412:
                return True
        raise PlatformError("sap project kept changing under the update (412)")
