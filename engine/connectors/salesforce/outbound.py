"""Salesforce outbound: update-crm-status and escalate, by sObject upsert on external ids.

Idempotency comes from the upsert (`PATCH /sobjects/<Object>/<ExtId__c>/<value>`): the same
command twice creates one record and then updates it with the same values. Several records
matching one external id (HTTP 300) is ambiguous data, a permanent error for an operator.
Every call carries `Sforce-Call-Options: client=<client name>`, which Salesforce reports in the
CDC `changeOrigin` of the change, so the inbound side can skip q2c's own writes.
`SalesforceRest` is shared with the Certinia connector (Certinia PSA lives in a Salesforce org).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any
from urllib.parse import quote

from engine.connectors.http import HttpConfig, PlatformHttp
from engine.connectors.outbound.connector import HttpConnector
from engine.connectors.outbound.errors import Rejected, error_for
from engine.connectors.outbound.fields import OutboundFields, RecordSpec
from engine.contracts import Command, Escalate, Event, UpdateCrmStatus

PLATFORM = "salesforce"
CLIENT_NAME = "q2c"
MAX_COMPOSITE = 25


def with_client_header(config: HttpConfig, client: str = CLIENT_NAME) -> HttpConfig:
    """`config` with the call-options header that marks q2c's writes in CDC's changeOrigin."""
    headers = {**config.headers, "Sforce-Call-Options": f"client={client}"}
    return config.model_copy(update={"headers": headers})


def upsert_url(api_version: str, spec: RecordSpec, value: str, *, update_only: bool) -> str:
    """The sObject upsert URL of one record (relative to the instance)."""
    if spec.external_id is None:
        raise ValueError(f"{spec.name} has no external_id in the field file")
    url = f"/services/data/{api_version}/sobjects/{spec.name}/{spec.external_id}/{quote(value, safe='')}"
    return url + "?updateOnly=true" if update_only else url


class SalesforceRest:
    """The REST calls both Salesforce and Certinia make."""

    def __init__(self, http: PlatformHttp, fields: OutboundFields) -> None:
        self.http = http
        self.fields = fields
        self.api_version = fields.api_version or "v60.0"

    async def upsert(
        self, role: str, value: str, body: Mapping[str, Any], *, update_only: bool = False
    ) -> str:
        """Upsert one record by external id; returns its Salesforce Id (empty on a 204).

        The field file's defaults are creation constants: an update-only upsert leaves them
        alone, so it never resets a field (a stage, a status) that moved since creation.
        """
        spec = self.fields.record(role)
        reply = await self.http.request(
            "PATCH",
            upsert_url(self.api_version, spec, value, update_only=update_only),
            json=dict(body) if update_only else {**spec.defaults, **body},
            ok=(300,),
        )
        if reply.status_code == 300:
            raise Rejected(
                f"salesforce HTTP 300 several {spec.name} records match {spec.external_id}",
                300,
                "MULTIPLE_CHOICES",
                spec.external_id,
            )
        return str(reply.json().get("id", "")) if reply.content else ""

    async def composite(
        self, subrequests: Sequence[Mapping[str, Any]], *, all_or_none: bool = True
    ) -> dict[str, Any]:
        """One composite call (one API call against limits); raises for any failed subrequest.

        The top-level reply is 200 even when subrequests fail, so each one is classified.
        """
        if len(subrequests) > MAX_COMPOSITE:
            raise ValueError(f"a composite request holds at most {MAX_COMPOSITE} subrequests")
        reply = await self.http.request(
            "POST",
            f"/services/data/{self.api_version}/composite",
            json={"allOrNone": all_or_none, "compositeRequest": list(subrequests)},
        )
        results: dict[str, Any] = {}
        for sub in reply.json().get("compositeResponse", []):
            status = int(sub.get("httpStatusCode", 500))
            error = error_for(PLATFORM, status, {}, sub.get("body"))
            if status == 300:
                error = Rejected(
                    f"salesforce HTTP 300 several records match in {sub.get('referenceId')}",
                    300,
                    "MULTIPLE_CHOICES",
                    None,
                )
            # PROCESSING_HALTED marks the subrequests skipped because another one failed.
            if error is not None and _code(sub) != "PROCESSING_HALTED":
                raise error
            results[str(sub.get("referenceId"))] = sub.get("body")
        return results

    def sub_upsert(
        self, reference: str, role: str, value: str, body: Mapping[str, Any], *, update_only: bool
    ) -> dict[str, Any]:
        """A composite subrequest upserting one record."""
        spec = self.fields.record(role)
        return {
            "method": "PATCH",
            "url": upsert_url(self.api_version, spec, value, update_only=update_only),
            "referenceId": reference,
            "body": {**spec.defaults, **body},
        }


def _code(sub: Mapping[str, Any]) -> str | None:
    body = sub.get("body")
    if isinstance(body, list) and body and isinstance(body[0], Mapping):
        code = body[0].get("errorCode")
        return code if isinstance(code, str) else None
    return None


class SalesforceOrgConnector(HttpConnector):
    """Base of the connectors that write to a Salesforce org (Sales Cloud, Certinia): every
    call marks q2c as its client, and `rest` speaks the org's REST API."""

    default_headers = {"Sforce-Call-Options": f"client={CLIENT_NAME}"}

    @cached_property
    def rest(self) -> SalesforceRest:
        return SalesforceRest(self.http, self.fields)


class SalesforceConnector(SalesforceOrgConnector):
    """Commands of the crm target against Salesforce Sales Cloud."""

    platform = PLATFORM
    commands = frozenset({"update-crm-status", "escalate"})

    async def handle(self, command: Command) -> Sequence[Event]:
        if isinstance(command, UpdateCrmStatus):
            # updateOnly: q2c never creates opportunities, a missing one is a permanent error.
            await self.rest.upsert(
                "opportunity",
                command.deal_id,
                {"Q2C_Status__c": command.status, "Q2C_Status_Detail__c": command.detail},
                update_only=True,
            )
            return []
        if isinstance(command, Escalate):
            # The case and the opportunity's flag belong together: one all-or-none composite.
            await self.rest.composite(
                [
                    self.rest.sub_upsert(
                        "case",
                        "escalation",
                        command.header.idempotency_key,
                        {"Subject": f"q2c {command.kind}", "Description": command.detail},
                        update_only=False,
                    ),
                    self.rest.sub_upsert(
                        "opportunity",
                        "opportunity",
                        command.deal_id,
                        {"Q2C_Escalation__c": command.kind},
                        update_only=True,
                    ),
                ]
            )
            return []
        raise self.unsupported(command)
