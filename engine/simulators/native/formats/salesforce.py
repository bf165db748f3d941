"""Salesforce: a won Opportunity, as the org holds it and as Change Data Capture tells of it.

The CDC UPDATE carries only the changed fields (StageName, IsWon): the translator reads the
Opportunity, its Account, milestones and rates back from the org over REST, as the shipped
mapping declares. So a win first puts those records in the org (the emulator), field names
as in that mapping, then sends the change event through the Pub/Sub relay route.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.contracts import BillingModel, ClosedWon, Event
from engine.emulators.salesforce import SalesforceEmulator
from engine.simulators.native.formats.base import NativePost, dumps, stable_id
from engine.simulators.native.formats.crm import deal_terms, milestone_terms, rate_terms, renamed

PLATFORM = "salesforce"
ROUTE = "salesforce/cdc"
BILLING_MODELS = {BillingModel.MILESTONE: "Milestone", BillingModel.TIME_AND_MATERIALS: "T&M"}


OPPORTUNITY = {
    "deal_id": "Q2C_Deal_Id__c",
    "account_id": "AccountId",
    "amount": "Amount",
    "legal_entity": "Legal_Entity__c",
    "billing_model": "Billing_Model__c",
    "payment_terms_days": "Payment_Terms_Days__c",
    "contract_start": "Contract_Start__c",
    "contract_end": "Contract_End__c",
    "rate_card_id": "Rate_Card_Id__c",
    "billing_period_days": "Billing_Period_Days__c",
    "activation_sla_hours": "Activation_SLA_Hours__c",
}
MILESTONE = {
    "deal_id": "Opportunity__c",
    "name": "Name",
    "amount": "Amount__c",
    "due_date": "Due_Date__c",
}
RATE = {"deal_id": "Opportunity__c", "role": "Role__c", "hourly_rate": "Hourly_Rate__c"}


def seed_opportunity(org: SalesforceEmulator, won: ClosedWon) -> None:
    """The Opportunity, Account, milestone and rate records behind `won`."""
    account, contract = won.account, won.contract
    org.seed(
        "Account",
        {
            "Name": account.name,
            "BillingCountryCode": account.country,
            "ParentId": account.parent_account_id,
            "Tax_Registration__c": account.tax_registration,
        },
        account.account_id,
    )
    org.seed(
        "Opportunity",
        {
            **renamed(deal_terms(won, BILLING_MODELS), OPPORTUNITY),
            "IsWon": True,
            "StageName": "Closed Won",
            "ContractId": contract.contract_id,
            "CurrencyIsoCode": contract.currency,
        },
        won.deal_id,
    )
    for m in contract.milestones:
        org.seed("Q2C_Milestone__c", renamed(milestone_terms(won, m), MILESTONE), m.milestone_id)
    for n, rate in enumerate(contract.rate_card.rates if contract.rate_card else ()):
        org.seed("Q2C_Rate__c", renamed(rate_terms(won, rate), RATE), f"{won.deal_id}-R{n}")


class SalesforceFormat:
    platform = PLATFORM

    def __init__(self, org: SalesforceEmulator) -> None:
        self.org = org

    def encode(self, event: Event) -> NativePost | None:
        if not isinstance(event, ClosedWon):
            return None
        seed_opportunity(self.org, event)
        return change_event(
            "Opportunity",
            event.deal_id,
            event.envelope.occurred_at,
            {"StageName": "Closed Won", "IsWon": True, "IsClosed": True},
        )


def change_event(
    entity: str, record_id: str, at: datetime, changed: dict[str, Any], **unchanged: Any
) -> NativePost:
    """A CDC UPDATE of one record as the Pub/Sub relay forwards it: the `changed` fields
    (named in `changedFields`) and any `unchanged` ones the channel is enriched with."""
    millis = int(at.timestamp() * 1000)
    # Custom objects' channels drop the `__c`: pse__Proj__c -> /data/pse__Proj__ChangeEvent.
    custom = entity.endswith("__c")
    channel = f"/data/{entity.removesuffix('__c')}{'__' if custom else ''}ChangeEvent"
    doc = {
        "channel": channel,
        "data": {
            "schema": f"q2c-demo-{entity}",
            "payload": {
                "ChangeEventHeader": {
                    "entityName": entity,
                    "recordIds": [record_id],
                    "changeType": "UPDATE",
                    "changeOrigin": "com/salesforce/api/rest/61.0",
                    "transactionKey": stable_id(entity, record_id, str(millis), length=32),
                    "sequenceNumber": 1,
                    "commitTimestamp": millis,
                    "commitUser": "0055g00000Q2cDemo",
                    "changedFields": list(changed),
                    "diffFields": [],
                    "nulledFields": [],
                },
                **changed,
                **unchanged,
            },
            "event": {"replayId": int(stable_id(entity, record_id, str(millis), length=12), 16)},
        },
    }
    return NativePost(PLATFORM, ROUTE, dumps(doc))
