"""NetSuite outbound: create-project, close-project, recognize-revenue, issue-invoice,
update-project-budget.

Idempotency: records q2c owns are upserted by external id (`PUT /record/v1/<type>/eid:<v>`,
the only upsert NetSuite has), so a redelivered command updates the record it created.
update-project-budget reads the job by its external id (the deal id) first: a job that
already carries the amended budget is left alone (a redelivery writes nothing), a missing job
is a permanent 404 (a budget never creates a project), else the budget is upserted onto it.
Journal entries for recognize-revenue have no natural external id on the NetSuite side, so
they are created asynchronously with `X-NetSuite-Idempotency-Key` (a UUID derived from the
command's key): a repeat answers 400 `IDEMPOTENCY_ERROR` with the original job's `Location`,
which means "already done" and is followed, not raised.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from engine.adapters.errors import PermanentError
from engine.connectors.outbound.connector import HttpConnector
from engine.connectors.outbound.errors import PlatformError, detail_of, error_for, parse_body
from engine.connectors.outbound.replies import invoice_issued, project_created
from engine.contracts import (
    CloseProject,
    Command,
    CreateProject,
    Event,
    IssueInvoice,
    RecognizeRevenue,
)
from engine.contracts.commands import UpdateProjectBudget

PLATFORM = "netsuite"
RECORD = "/services/rest/record/v1"
KEY_NAMESPACE = uuid.UUID("2c1b7f3e-5d0a-4b8e-9f61-0e3d7a9c4b52")
JOB_POLLS = 20
JOB_POLL_S = 0.25


def async_key(command_key: str) -> str:
    """The `X-NetSuite-Idempotency-Key` of a command: a UUID, as NetSuite expects."""
    return str(uuid.uuid5(KEY_NAMESPACE, command_key))


def eid(value: str) -> str:
    return "eid:" + quote(value, safe="")


def internal_id(location: str | None) -> str:
    """The record's internal id: the last segment of its `Location`."""
    if not location:
        raise PlatformError("netsuite reply has no Location header")
    return location.rstrip("/").rsplit("/", 1)[-1]


class NetSuiteConnector(HttpConnector):
    """Commands of the erp target (and issue-invoice when NetSuite bills) against NetSuite."""

    platform = PLATFORM
    commands = frozenset(
        {
            "create-project",
            "close-project",
            "recognize-revenue",
            "issue-invoice",
            "update-project-budget",
        }
    )

    async def handle(self, command: Command) -> Sequence[Event]:
        if isinstance(command, CreateProject):
            return [
                project_created(command, PLATFORM, await self.create_project(command), self.clock())
            ]
        if isinstance(command, CloseProject):
            closed = self.fields.record("closed_status").name
            project = self.fields.record("project").name
            await self.http.request(
                "PATCH",
                f"{RECORD}/{project}/{quote(command.project_id, safe='')}",
                json={"entityStatus": {"id": closed}},
            )
            return []
        if isinstance(command, RecognizeRevenue):
            await self.recognize_revenue(command)
            return []
        if isinstance(command, IssueInvoice):
            return [await self.issue_invoice(command)]
        if isinstance(command, UpdateProjectBudget):
            await self.update_project_budget(command)
            return []
        raise self.unsupported(command)

    async def upsert(self, role: str, external_id: str, body: Mapping[str, Any]) -> str:
        """PUT by external id; returns the record's internal id."""
        spec = self.fields.record(role)
        reply = await self.http.request(
            "PUT", f"{RECORD}/{spec.name}/{eid(external_id)}", json={**spec.defaults, **body}
        )
        return internal_id(reply.headers.get("location"))

    async def create_project(self, command: CreateProject) -> str:
        """The customer, then the job (project) under it, both keyed by q2c's ids."""
        account = command.account
        await self.upsert(
            "customer",
            account.account_id,
            {"companyName": account.name, "currency": {"refName": account.currency}},
        )
        contract = command.contract
        return await self.upsert(
            "project",
            command.deal_id,
            {
                "companyName": f"{account.name} {contract.contract_id}",
                "parent": {"externalId": account.account_id},
                "startDate": contract.start_date.isoformat(),
                "projectedEndDate": contract.end_date.isoformat(),
            },
        )

    async def update_project_budget(self, command: UpdateProjectBudget) -> bool:
        """Write the amended budget onto the deal's job; False when it was already there."""
        job = self.fields.record("project").name
        field = self.fields.record("budget_field").name
        current = await self.http.request(
            "GET", f"{RECORD}/{job}/{eid(command.deal_id)}", params={"fields": field}
        )
        value = current.json().get(field)
        if value is not None and Decimal(str(value)) == command.budget.amount:
            return False
        await self.upsert("project", command.deal_id, {field: float(command.budget.amount)})
        return True

    async def issue_invoice(self, command: IssueInvoice) -> Event:
        items = [
            {"description": line.description, "quantity": float(line.quantity),
             "rate": str(line.unit_price.amount), "amount": str(line.amount.amount)}
            for line in command.lines
        ]  # fmt: skip
        invoice_id = await self.upsert(
            "invoice",
            command.invoice_reference,
            {
                "entity": {"externalId": command.deal_id},
                "tranId": command.invoice_reference,
                "item": {"items": items},
            },
        )
        due = command.header.issued_at.date() + timedelta(days=command.payment_terms_days)
        return invoice_issued(command, PLATFORM, invoice_id, due, self.clock())

    async def recognize_revenue(self, command: RecognizeRevenue) -> str:
        """An async journal-entry create, idempotent by key; returns the entry's internal id."""
        record = self.fields.record("revenue").name
        reply = await self.http.request(
            "POST",
            f"{RECORD}/{record}",
            json={
                "memo": f"q2c revenue {command.invoice_reference}",
                "externalId": command.header.idempotency_key,
                "currency": {"refName": command.amount.currency},
                "amount": str(command.amount.amount),
            },
            headers={
                "Prefer": "respond-async",
                "X-NetSuite-Idempotency-Key": async_key(command.header.idempotency_key),
            },
            ok=(400,),
        )
        # A 400 IDEMPOTENCY_ERROR means accepted earlier: the original job answers for it.
        if (
            reply.status_code == 400
            and detail_of(parse_body(reply.content)).code != "IDEMPOTENCY_ERROR"
        ):
            self._raise(reply)
        return await self._job_result(reply.headers.get("location"))

    def _raise(self, reply: httpx.Response) -> None:
        error = error_for(PLATFORM, reply.status_code, reply.headers, parse_body(reply.content))
        if error is not None:
            raise error

    async def _job_result(self, job_location: str | None) -> str:
        if not job_location:
            raise PlatformError("netsuite async reply has no job Location")
        for _ in range(JOB_POLLS):
            job = (await self.http.request("GET", job_location)).json()
            if job.get("completed"):
                if job.get("progress") != "succeeded":
                    raise PermanentError(f"netsuite async job ended {job.get('progress')}")
                result = await self.http.request(
                    "GET", f"{job_location}/task/{job.get('task')}/result"
                )
                return internal_id(result.headers.get("location"))
            await asyncio.sleep(JOB_POLL_S)
        raise PlatformError("netsuite async job still running")
