"""Certinia PSA outbound: create-project, close-project, recognize-revenue, update-project-budget.

Certinia lives in a Salesforce org, so this is Salesforce's REST API (`SalesforceRest`): the
project and its milestones (`pse__Milestone__c`) are upserted by q2c external ids in one
all-or-none composite request (one API call; milestones reference the project by
`@{project.id}`), so a redelivered command updates the same records.

recognize-revenue marks the milestone "Include In Financials" (`pse__Include_In_Financials__c`),
which is what hands a PSA milestone to Certinia's revenue recognition (Revenue Management
recognizes from the financial records PSA releases; https://help.certinia.com/main/2023.2/
Content/PSA/Features/Milestones/MilestoneFields.htm). update-project-budget writes the
amended total into the project's budget field (the field file's `budget_field`). Both are
update-only upserts by q2c's external ids (`?updateOnly=true`): setting an absolute value, so a
redelivery writes the same values again and never creates a record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.adapters.errors import PermanentError
from engine.connectors.outbound.replies import project_created
from engine.connectors.salesforce.outbound import MAX_COMPOSITE, SalesforceOrgConnector
from engine.contracts import (
    CloseProject,
    Command,
    CreateProject,
    Event,
    RecognizeRevenue,
)
from engine.contracts.commands import UpdateProjectBudget

PLATFORM = "certinia"


def milestone_key(deal_id: str, milestone_id: str) -> str:
    """A milestone's external id: unique across deals, stable across redeliveries."""
    return f"{deal_id}:{milestone_id}"


class CertiniaConnector(SalesforceOrgConnector):
    """Commands of the erp target against Certinia PSA."""

    platform = PLATFORM
    commands = frozenset(
        {"create-project", "close-project", "recognize-revenue", "update-project-budget"}
    )

    async def handle(self, command: Command) -> Sequence[Event]:
        if isinstance(command, CreateProject):
            return [
                project_created(command, PLATFORM, await self.create_project(command), self.clock())
            ]
        if isinstance(command, CloseProject):
            stage = self.rest.fields.record("closed_stage").name
            await self.rest.upsert(
                "project",
                command.deal_id,
                {"pse__Stage__c": stage, "pse__Is_Active__c": False},
                update_only=True,
            )
            return []
        if isinstance(command, RecognizeRevenue):
            await self.recognize_revenue(command)
            return []
        if isinstance(command, UpdateProjectBudget):
            field = self.rest.fields.record("budget_field").name
            await self.rest.upsert(
                "project",
                command.deal_id,
                {field: str(command.budget.amount), "Q2C_Amendment_Id__c": command.amendment_id},
                update_only=True,
            )
            return []
        raise self.unsupported(command)

    async def recognize_revenue(self, command: RecognizeRevenue) -> None:
        """Release the milestone to financials; revenue without a milestone is not PSA's."""
        if command.milestone_id is None:
            raise PermanentError(
                f"certinia recognizes revenue per milestone; {command.invoice_reference} has none"
            )
        await self.rest.upsert(
            "milestone",
            milestone_key(command.deal_id, command.milestone_id),
            {"pse__Include_In_Financials__c": True},
            update_only=True,
        )

    async def create_project(self, command: CreateProject) -> str:
        """Project and milestones; returns the project's Salesforce Id."""
        contract = command.contract
        project: dict[str, Any] = {
            "Name": f"{command.account.name} {contract.contract_id}",
            "pse__Start_Date__c": contract.start_date.isoformat(),
            "pse__End_Date__c": contract.end_date.isoformat(),
        }
        milestones = [
            (m.milestone_id, {"Name": m.name, "pse__Target_Date__c": m.due_date.isoformat(),
                              "pse__Milestone_Amount__c": str(m.amount.amount)})
            for m in contract.milestones
        ]  # fmt: skip
        first = [
            self.rest.sub_upsert("project", "project", command.deal_id, project, update_only=False)
        ]
        project_ref = "@{project.id}"
        chunks = [
            milestones[i : i + MAX_COMPOSITE - 1]
            for i in range(0, len(milestones), MAX_COMPOSITE - 1)
        ]
        project_id = ""
        for n, chunk in enumerate(chunks or [[]]):
            subs = [
                self.rest.sub_upsert(
                    f"m{i}",
                    "milestone",
                    milestone_key(command.deal_id, mid),
                    {**body, "pse__Project__c": project_ref},
                    update_only=False,
                )
                for i, (mid, body) in enumerate(chunk)
            ]
            results = await self.rest.composite([*(first if n == 0 else []), *subs])
            if n == 0:
                project_id = str((results.get("project") or {}).get("id", ""))
                project_ref = project_id
        if not project_id:
            raise PermanentError("certinia returned no id for the project")
        return project_id
