"""Dynamics 365 / Dataverse: a won opportunity, as the rows the shipped mapping reads back and
as the `Win` message's webhook (a RemoteExecutionContext carrying only the close activity).

Row ids are GUIDs, as in Dataverse: the demo's deals and accounts get GUID ids when Dynamics
is the CRM (`DealConfig.guid_ids`); the currency row's id derives from its ISO code.
"""

from __future__ import annotations

import uuid
from typing import Any

from engine.contracts import BillingModel, ClosedWon, Event
from engine.emulators.dynamics import DynamicsEmulator
from engine.simulators.native.formats.base import NativePost, dumps
from engine.simulators.native.formats.crm import deal_terms, milestone_terms, rate_terms, renamed

PLATFORM = "dynamics"
ORGANIZATION_ID = "5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
ROWS = uuid.UUID("9d4c1b2a-3e5f-4a6b-8c7d-0e1f2a3b4c5d")
XRM = "http://schemas.microsoft.com/xrm/2011/Contracts"
BILLING_MODELS = {
    BillingModel.MILESTONE: "Milestone",
    BillingModel.TIME_AND_MATERIALS: "Time & Materials",
}
STATUS_WON = 3  # the opportunity's statuscode when won
OPPORTUNITY = {
    "deal_id": "q2c_dealid",
    "account_id": "_customerid_value",
    "amount": "totalamount",
    "legal_entity": "q2c_legalentity",
    "billing_model": "q2c_billingmodel",
    "payment_terms_days": "q2c_paymenttermsdays",
    "contract_start": "q2c_contractstart",
    "contract_end": "q2c_contractend",
    "rate_card_id": "q2c_ratecardid",
    "billing_period_days": "q2c_billingperioddays",
    "activation_sla_hours": "q2c_activationslahours",
}
MILESTONE = {
    "deal_id": "_q2c_opportunity_value",
    "name": "q2c_name",
    "amount": "q2c_amount",
    "due_date": "q2c_duedate",
}
RATE = {"deal_id": "_q2c_opportunity_value", "role": "q2c_role", "hourly_rate": "q2c_hourlyrate"}


def _row_id(*parts: str) -> str:
    return str(uuid.uuid5(ROWS, ":".join(parts)))


def seed_opportunity(crm: DynamicsEmulator, won: ClosedWon) -> None:
    """The opportunity, account, currency, milestone and rate rows behind `won`."""
    account, contract = won.account, won.contract
    currency = _row_id("currency", contract.currency)
    crm.seed("transactioncurrencies", {"isocurrencycode": contract.currency}, currency)
    crm.seed(
        "accounts",
        {
            "accountid": account.account_id,
            "name": account.name,
            "q2c_countrycode": account.country,
            "_parentaccountid_value": account.parent_account_id,
            "q2c_taxregistration": account.tax_registration,
        },
        account.account_id,
    )
    crm.seed(
        "opportunities",
        {
            **renamed(deal_terms(won, BILLING_MODELS), OPPORTUNITY),
            "opportunityid": won.deal_id,
            "_transactioncurrencyid_value": currency,
        },
        won.deal_id,
    )
    for m in contract.milestones:
        row = _row_id("milestone", m.milestone_id)
        crm.seed(
            "q2c_milestones",
            {**renamed(milestone_terms(won, m), MILESTONE), "q2c_milestoneid": m.milestone_id},
            row,
        )
    for n, rate in enumerate(contract.rate_card.rates if contract.rate_card else ()):
        row = _row_id("rate", won.deal_id, str(n))
        crm.seed("q2c_rates", {**renamed(rate_terms(won, rate), RATE), "q2c_rateid": row}, row)


def _reference(entity: str, row: str) -> dict[str, Any]:
    return {
        "__type": f"EntityReference:{XRM}",
        "Id": row,
        "KeyAttributes": [],
        "LogicalName": entity,
        "Name": None,
        "RowVersion": None,
    }


class DynamicsFormat:
    platform = PLATFORM

    def __init__(self, crm: DynamicsEmulator) -> None:
        self.crm = crm

    def encode(self, event: Event) -> NativePost | None:
        if not isinstance(event, ClosedWon):
            return None
        seed_opportunity(self.crm, event)
        millis = int(event.envelope.occurred_at.timestamp() * 1000)
        close = {
            "__type": f"Entity:{XRM}",
            "Attributes": [
                {"key": "opportunityid", "value": _reference("opportunity", event.deal_id)},
                {"key": "subject", "value": "Won"},
            ],
            "Id": _row_id("opportunityclose", event.deal_id),
            "LogicalName": "opportunityclose",
        }
        doc = {
            "BusinessUnitId": _row_id("business-unit"),
            "CorrelationId": _row_id("correlation", event.deal_id),
            "Depth": 1,
            "InputParameters": [
                {"key": "OpportunityClose", "value": close},
                {
                    "key": "Status",
                    "value": {"__type": f"OptionSetValue:{XRM}", "Value": STATUS_WON},
                },
            ],
            "MessageName": "Win",
            "Mode": 1,
            "OperationCreatedOn": f"/Date({millis})/",
            "OperationId": _row_id("operation", event.deal_id),
            "OrganizationId": ORGANIZATION_ID,
            "OrganizationName": "q2cdemo",
            "OutputParameters": [],
            "PostEntityImages": [],
            "PreEntityImages": [],
            "PrimaryEntityId": event.deal_id,
            "PrimaryEntityName": "opportunity",
            "Stage": 40,
        }
        return NativePost(PLATFORM, PLATFORM, dumps(doc))
