"""Certinia PSA (on Salesforce): CDC on its pse__ objects, through the same Pub/Sub relay.

A project set active, a milestone approved, an expense approved (the channels enriched with
the fields the shipped mapping reads), and an approved timecard, whose header and resource
(Contact) are first put in the org: the mapping reads them back.
"""

from __future__ import annotations

from engine.contracts import (
    Event,
    ExpenseApproved,
    MilestoneCompleted,
    ProjectActivated,
    TimeEntryApproved,
)
from engine.emulators.salesforce import SalesforceEmulator
from engine.simulators.native.formats.base import NativePost, stable_id
from engine.simulators.native.formats.salesforce import change_event
from engine.simulators.native.ids import IdMap

PLATFORM = "certinia"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class CertiniaFormat:
    platform = PLATFORM

    def __init__(self, org: SalesforceEmulator, ids: IdMap) -> None:
        self.org = org
        self.ids = ids

    def encode(self, event: Event) -> NativePost | None:
        if isinstance(event, ProjectActivated):
            return change_event(
                "pse__Proj__c",
                self.ids.platform(event.project_id),
                event.activated_at,
                {"pse__Is_Active__c": True},
            )
        if isinstance(event, MilestoneCompleted):
            project = self.ids.platform(event.project_id)
            return change_event(
                "pse__Milestone__c",
                "a0M" + stable_id(project, event.milestone_id, length=15),
                event.completed_at,
                {"pse__Approved__c": True},
                pse__Project__c=project,
                Q2C_Milestone_Id__c=event.milestone_id,
            )
        if isinstance(event, ExpenseApproved):
            expense = event.expense
            return change_event(
                "pse__Expense__c",
                expense.expense_id,
                event.envelope.occurred_at,
                {"pse__Approved__c": True},
                pse__Project__c=self.ids.platform(event.project_id),
                pse__Resource__c=expense.resource_id,
                pse__Expense_Date__c=expense.expense_date.isoformat(),
                pse__Type__c=expense.category,
                pse__Amount__c=float(expense.amount.amount),
                CurrencyIsoCode=expense.amount.currency,
            )
        if isinstance(event, TimeEntryApproved):
            self._seed_timecard(event)
            return change_event(
                "pse__Timecard_Header__c",
                event.entry.entry_id,
                event.envelope.occurred_at,
                {"pse__Status__c": "Approved"},
                pse__Timecard_Notes__c=event.entry.description,
            )
        return None

    def _seed_timecard(self, event: TimeEntryApproved) -> None:
        """The timecard header (one day's hours, also by weekday) and its resource."""
        entry = event.entry
        hours = float(entry.hours)
        day = WEEKDAYS[entry.work_date.weekday()]
        self.org.seed(
            "Contact",
            {"Name": entry.resource.name, "pse__Resource_Role__c": entry.resource.role},
            entry.resource.resource_id,
        )
        self.org.seed(
            "pse__Timecard_Header__c",
            {
                "pse__Project__c": self.ids.platform(event.project_id),
                "pse__Resource__c": entry.resource.resource_id,
                "pse__Start_Date__c": entry.work_date.isoformat(),
                "pse__End_Date__c": entry.work_date.isoformat(),
                "pse__Total_Hours__c": hours,
                **{f"pse__{d}_Hours__c": hours if d == day else 0.0 for d in WEEKDAYS},
            },
            entry.entry_id,
        )
