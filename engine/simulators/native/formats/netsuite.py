"""NetSuite: the user-event script's JSON (deploy/netsuite/q2c_user_event.js) for a job set
In Progress, an approved time bill and an approved expense report; milestone completion has
no native event in the shipped NetSuite mapping (None: sent canonically)."""

from __future__ import annotations

from typing import Any

from engine.contracts import Event, ExpenseApproved, ProjectActivated, TimeEntryApproved
from engine.simulators.native.formats.base import NativePost, dumps, iso
from engine.simulators.native.ids import IdMap

PLATFORM = "netsuite"
ACCOUNT = "TSTDRV-Q2C-DEMO"


class NetSuiteFormat:
    platform = PLATFORM

    def __init__(self, ids: IdMap) -> None:
        self.ids = ids

    def encode(self, event: Event) -> NativePost | None:
        if isinstance(event, ProjectActivated):
            record: dict[str, Any] = {"entitystatus": {"value": "2", "text": "In Progress"}}
            # Like the other platforms' events, only some name the deal (see EventStamper).
            if event.envelope.correlation_id:
                record["custentity_q2c_deal_id"] = event.envelope.correlation_id
            return self._post(
                "job", self.ids.platform(event.project_id), "edit", event, ["entitystatus"], record
            )
        if isinstance(event, TimeEntryApproved):
            entry = event.entry
            project = self.ids.platform(event.project_id)
            record = {
                "employee": {"value": entry.resource.resource_id, "text": entry.resource.name},
                "customer": {"value": project, "text": project},
                "item": {"value": entry.resource.role, "text": entry.resource.role},
                "hours": str(entry.hours),
                "trandate": entry.work_date.isoformat(),
                "approvalstatus": {"value": "3", "text": "Approved"},
                "memo": entry.description,
            }
            return self._post(
                "timebill", entry.entry_id, "approve", event, ["approvalstatus"], record
            )
        if isinstance(event, ExpenseApproved):
            expense = event.expense
            project = self.ids.platform(event.project_id)
            record = {
                "entity": {"value": expense.resource_id, "text": expense.resource_id},
                "trandate": expense.expense_date.isoformat(),
                "currencyIso": expense.amount.currency,
                "approvalstatus": {"value": "2", "text": "Approved by Accounting"},
                "lines": [
                    {
                        "lineId": expense.expense_id,
                        "category": {"value": expense.category, "text": expense.category},
                        "amount": str(expense.amount.amount),
                        "customer": {"value": project, "text": project},
                        "expensedate": expense.expense_date.isoformat(),
                    }
                ],
            }
            return self._post(
                "expensereport", expense.expense_id, "approve", event, ["approvalstatus"], record
            )
        return None

    def _post(
        self,
        record_type: str,
        record_id: str,
        event_type: str,
        event: Event,
        changed: list[str],
        record: dict[str, Any],
    ) -> NativePost:
        at = iso(event.envelope.occurred_at)
        doc = {
            "eventId": f"{record_type}:{record_id}:{event_type}:{at}",
            "account": ACCOUNT,
            "recordType": record_type,
            "recordId": record_id,
            "eventType": event_type,
            "occurredAt": at,
            "changed": changed,
            "record": record,
        }
        return NativePost(PLATFORM, PLATFORM, dumps(doc))
