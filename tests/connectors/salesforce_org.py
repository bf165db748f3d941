"""A Salesforce org holding the records behind the CDC fixture `opportunity-won.cdc`: the won
Opportunity, its Account and two milestone children (the read-backs' answers)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.emulators.salesforce import SalesforceEmulator

WON_OPPORTUNITY = "0065g00000Q2cWonAAA"  # recordIds[0] of tests/fixtures/.../opportunity-won.cdc
ACCOUNT = "0015g00000Q2cAccAAA"


@dataclass(frozen=True)
class Customer:
    """The Account of a won deal and the legal entity that sells to it."""

    account_id: str = ACCOUNT
    name: str = "Acme GmbH"
    country: str = "de"
    tax_registration: str = "DE123456789"
    legal_entity: str = "ACME-DE"
    currency: str = "EUR"


def seed_won_deal(
    org: SalesforceEmulator, opportunity_id: str = WON_OPPORTUNITY, customer: Customer = Customer()
) -> None:
    """The records a closed-won of `opportunity_id` is read back from (field names as in the
    shipped Salesforce mapping)."""
    org.seed(
        "Account",
        {
            "Name": customer.name,
            "BillingCountryCode": customer.country,
            "Tax_Registration__c": customer.tax_registration,
        },
        customer.account_id,
    )
    org.seed(
        "Opportunity",
        {
            "IsWon": True,
            "StageName": "Closed Won",
            "AccountId": customer.account_id,
            "CurrencyIsoCode": customer.currency,
            # Salesforce sends currency fields as JSON numbers: 120000.10 must stay exact.
            "Amount": 120000.10,
            "Legal_Entity__c": customer.legal_entity,
            "Billing_Model__c": "Milestone",
            "Payment_Terms_Days__c": 30,
            "Contract_Start__c": "2026-01-01",
            "Contract_End__c": "2026-12-31",
        },
        opportunity_id,
    )
    for n, (amount, due) in enumerate([(60000.05, "2026-03-31"), (60000.05, "2026-09-30")]):
        org.seed(
            "Q2C_Milestone__c",
            {
                "Opportunity__c": opportunity_id,
                "Name": f"Phase {n + 1}",
                "Amount__c": amount,
                "Due_Date__c": due,
            },
            f"{opportunity_id}-M{n}",
        )
