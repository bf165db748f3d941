"""Oracle Fusion (ERP Cloud) outbound: create-project, close-project, issue-invoice,
update-project-budget, recognize-revenue.

Oracle has no idempotency-key header. Projects are created with `Upsert-Mode: true` (ADF REST
upsert on the project number, which is derived from the q2c deal id), so a redelivery
updates the project it created. Receivables invoices do not support it: issue-invoice queries
by `TransactionNumber` (= the q2c invoice reference) before it creates, then completes the
invoice with a PATCH of `InvoiceStatus` (one of the few fields PATCH may change).

update-project-budget keeps one project budget version per deal (`projectBudgets`, found by
`ProjectNumber` and q2c's version name): created with the amended revenue when absent, else
its planning amount line is PATCHed, and left alone when it already holds the amount.
recognize-revenue creates a project billing event (`projectBillingEvents`: "an amount that can
be invoiced, revenue recognized, or both"; its event type decides which) after looking it up by
`SourceReference` (= a reference derived from the command's idempotency key), so a redelivery
finds the event it created.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from engine.adapters.errors import PermanentError
from engine.connectors.oracle.receivables import DEFAULT_PROJECT_SEGMENT, invoice_event_id
from engine.connectors.outbound.connector import HttpConnector
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

PLATFORM = "oracle"
FRAMEWORK = {"REST-Framework-Version": "4"}
# SourceReference is stored in PJB_BILLING_EVENTS.SOURCEREF, VARCHAR2(80) (Oracle's tables and
# views reference, PJB_BILLING_EVENTS); 50 keeps well inside it.
MAX_REFERENCE = 50


def source_reference(command_key: str) -> str:
    """The billing event's q2c reference: the command's key, hashed when it is too long."""
    if len(command_key) <= MAX_REFERENCE:
        return command_key
    return "q2c-" + hashlib.sha256(command_key.encode()).hexdigest()[: MAX_REFERENCE - 4]


def finder(field: str, value: str) -> str:
    """An ADF `q` filter on one field (quotes doubled)."""
    return f"{field}='{value.replace(chr(39), chr(39) * 2)}'"


class OracleConnector(HttpConnector):
    """Commands of the erp target (and issue-invoice when Oracle bills) against Oracle Fusion."""

    platform = PLATFORM
    commands = frozenset(
        {
            "create-project",
            "close-project",
            "issue-invoice",
            "update-project-budget",
            "recognize-revenue",
        }
    )

    default_headers = FRAMEWORK

    @property
    def base(self) -> str:
        """The REST resources' root for the configured API version."""
        return f"/fscmRestApi/resources/{self.fields.api_version or '11.13.18.05'}"

    async def handle(self, command: Command) -> Sequence[Event]:
        if isinstance(command, CreateProject):
            return [
                project_created(command, PLATFORM, await self.create_project(command), self.clock())
            ]
        if isinstance(command, CloseProject):
            spec = self.fields.record("project")
            await self.http.request(
                "PATCH",
                f"{self.base}/{spec.name}/{quote(command.project_id, safe='')}",
                json={"ProjectStatus": self.fields.record("closed_status").name},
            )
            return []
        if isinstance(command, IssueInvoice):
            return [await self.issue_invoice(command)]
        if isinstance(command, UpdateProjectBudget):
            await self.update_project_budget(command)
            return []
        if isinstance(command, RecognizeRevenue):
            await self.recognize_revenue(command)
            return []
        raise self.unsupported(command)

    async def create_project(self, command: CreateProject) -> str:
        spec = self.fields.record("project")
        contract = command.contract
        reply = await self.http.request(
            "POST",
            f"{self.base}/{spec.name}",
            json={
                **spec.defaults,
                spec.external_id or "ProjectNumber": command.deal_id,
                "ProjectName": f"{command.account.name} {contract.contract_id}",
                "ProjectStartDate": contract.start_date.isoformat(),
                "ProjectFinishDate": contract.end_date.isoformat(),
            },
            headers={"Upsert-Mode": "true"},
        )
        return str(reply.json()["ProjectId"])

    async def _find(self, resource: str, query: str, **params: str) -> dict[str, Any] | None:
        """The one item an ADF `q` query matches, or None; several is a permanent error."""
        reply = await self.http.request(
            "GET", f"{self.base}/{resource}", params={"q": query, "limit": 2, **params}
        )
        items = reply.json().get("items") or []
        if len(items) > 1:
            raise PermanentError(f"oracle has several {resource} matching one q2c reference")
        return items[0] if items else None

    async def update_project_budget(self, command: UpdateProjectBudget) -> bool:
        """The deal's budget version holds the amended revenue; False when it already did."""
        spec = self.fields.record("budget")
        version_name = str(spec.defaults.get("PlanVersionName", "q2c"))
        # One ADF finder per field joined with ';' (AND); the amount lines come in the same GET.
        version = await self._find(
            spec.name,
            f"{finder('ProjectNumber', command.deal_id)};{finder('PlanVersionName', version_name)}",
            expand="PlanningResources.PlanningAmounts",
        )
        amount = command.budget
        if version is None:
            await self.http.request(
                "POST",
                f"{self.base}/{spec.name}",
                json={
                    **spec.defaults,
                    "ProjectNumber": command.deal_id,
                    "PlanVersionName": version_name,
                    "PlanningResources": [
                        {"PlanningAmounts": [{"Currency": amount.currency,
                                              "RevenueAmounts": float(amount.amount)}]}
                    ],
                },
            )  # fmt: skip
            return True
        resource = (version.get("PlanningResources") or [{}])[0]
        line = (resource.get("PlanningAmounts") or [{}])[0]
        if "PlanLineId" not in line:
            raise PermanentError("oracle budget version of the deal has no planning amount line")
        if Decimal(str(line.get("RevenueAmounts"))) == amount.amount:
            return False
        await self.http.request(
            "PATCH",
            f"{self.base}/{spec.name}/{version['PlanVersionId']}/child/PlanningResources/"
            f"{resource['PlanningElementId']}/child/PlanningAmounts/{line['PlanLineId']}",
            json={"RevenueAmounts": float(amount.amount)},
        )
        return True

    async def recognize_revenue(self, command: RecognizeRevenue) -> str:
        """A revenue billing event, created unless its q2c reference is already there."""
        spec = self.fields.record("revenue")
        reference_field = spec.external_id or "SourceReference"
        reference = source_reference(command.header.idempotency_key)
        event = await self._find(spec.name, finder(reference_field, reference))
        if event is None:
            reply = await self.http.request(
                "POST",
                f"{self.base}/{spec.name}",
                json={
                    **spec.defaults,
                    reference_field: reference,
                    # [verify] q2c knows no Oracle contract number: contracts are assumed to
                    # be numbered by the deal id, as projects are.
                    "ContractNumber": command.deal_id,
                    "ProjectNumber": command.deal_id,
                    "EventDescription": f"q2c revenue {command.invoice_reference}"[:240],
                    "CompletionDate": command.header.issued_at.date().isoformat(),
                    "BillTrnsAmount": float(command.amount.amount),
                    "BillTrnsCurrencyCode": command.amount.currency,
                },
            )
            event = reply.json()
        return str(event["EventId"])

    async def issue_invoice(self, command: IssueInvoice) -> Event:
        spec = self.fields.record("invoice")
        number_field = spec.external_id or "TransactionNumber"
        invoice = await self._find(spec.name, finder(number_field, command.invoice_reference))
        if invoice is None:
            lines = [
                {"LineNumber": n, "Description": line.description,
                 "Quantity": str(line.quantity), "UnitSellingPrice": str(line.unit_price.amount)}
                for n, line in enumerate(command.lines, start=1)
            ]  # fmt: skip
            reply = await self.http.request(
                "POST",
                f"{self.base}/{spec.name}",
                json={
                    **spec.defaults,
                    number_field: command.invoice_reference,
                    "InvoiceCurrencyCode": command.total.currency,
                    "PaymentTerms": f"NET {command.payment_terms_days}",
                    "TransactionDate": command.header.issued_at.date().isoformat(),
                    "receivablesInvoiceLines": lines,
                    "receivablesInvoiceDFF": [{DEFAULT_PROJECT_SEGMENT: command.project_id}],
                },
            )
            invoice = reply.json()
        invoice_id = str(invoice["CustomerTransactionId"])
        if invoice.get("InvoiceStatus") != "Complete":
            await self.http.request(
                "PATCH",
                f"{self.base}/{spec.name}/{quote(invoice_id, safe='')}",
                json={"InvoiceStatus": "Complete"},
            )
        due = command.header.issued_at.date() + timedelta(days=command.payment_terms_days)
        issued = invoice_issued(command, PLATFORM, invoice_id, due, self.clock())
        envelope = issued.envelope.model_copy(update={"event_id": invoice_event_id(invoice_id)})
        return issued.model_copy(update={"envelope": envelope})
