"""Oracle Fusion (ERP Cloud) outbound: create-project, close-project, issue-invoice.

Oracle has no idempotency-key header. Projects are created with `Upsert-Mode: true` (ADF REST
upsert on the project number, which is derived from the q2c deal id), so a redelivery
updates the project it created. Receivables invoices do not support it: issue-invoice queries
by `TransactionNumber` (= the q2c invoice reference) before it creates, then completes the
invoice with a PATCH of `InvoiceStatus` (one of the few fields PATCH may change).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from engine.adapters.errors import PermanentError
from engine.connectors.http import HttpConfig, PlatformHttp
from engine.connectors.oracle.receivables import DEFAULT_PROJECT_SEGMENT, invoice_event_id
from engine.connectors.outbound.connector import HttpConnector
from engine.connectors.outbound.fields import OutboundFields, load_fields
from engine.connectors.outbound.replies import invoice_issued, project_created
from engine.contracts import CloseProject, Command, CreateProject, Event, IssueInvoice

PLATFORM = "oracle"
FRAMEWORK = {"REST-Framework-Version": "4"}


def finder(field: str, value: str) -> str:
    """An ADF `q` filter on one field (quotes doubled)."""
    return f"{field}='{value.replace(chr(39), chr(39) * 2)}'"


class OracleConnector(HttpConnector):
    """Commands of the erp target (and issue-invoice when Oracle bills) against Oracle Fusion."""

    platform = PLATFORM
    commands = frozenset({"create-project", "close-project", "issue-invoice"})

    def __init__(self, config: HttpConfig, fields: OutboundFields | None = None) -> None:
        headers = {**FRAMEWORK, **config.headers}
        self.http = PlatformHttp(config.model_copy(update={"headers": headers}))
        self.fields = fields or load_fields(PLATFORM)
        self.base = f"/fscmRestApi/resources/{self.fields.api_version or '11.13.18.05'}"

    async def handle(self, command: Command) -> Sequence[Event]:
        if isinstance(command, CreateProject):
            return [project_created(command, PLATFORM, await self.create_project(command))]
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

    async def _find(self, resource: str, field: str, value: str) -> dict[str, Any] | None:
        reply = await self.http.request(
            "GET", f"{self.base}/{resource}", params={"q": finder(field, value), "limit": 2}
        )
        items = reply.json().get("items") or []
        if len(items) > 1:
            raise PermanentError(f"oracle has several {resource} with one {field}")
        return items[0] if items else None

    async def issue_invoice(self, command: IssueInvoice) -> Event:
        spec = self.fields.record("invoice")
        number_field = spec.external_id or "TransactionNumber"
        invoice = await self._find(spec.name, number_field, command.invoice_reference)
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
        issued = invoice_issued(command, PLATFORM, invoice_id, due)
        envelope = issued.envelope.model_copy(update={"event_id": invoice_event_id(invoice_id)})
        return issued.model_copy(update={"envelope": envelope})
