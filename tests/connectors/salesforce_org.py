"""A Salesforce org holding the records behind the CDC fixture `opportunity-won.cdc`: the won
Opportunity, its Account and two milestone children (the read-backs' answers)."""

from __future__ import annotations

from tests.emulators.salesforce import SalesforceEmulator

WON_OPPORTUNITY = "0065g00000Q2cWonAAA"  # recordIds[0] of tests/fixtures/.../opportunity-won.cdc
ACCOUNT = "0015g00000Q2cAccAAA"


def seed_won_deal(org: SalesforceEmulator, opportunity_id: str = WON_OPPORTUNITY) -> None:
    """The records a closed-won of `opportunity_id` is read back from (field names as in the
    shipped Salesforce mapping)."""
    org.seed(
        "Account",
        {"Name": "Acme GmbH", "BillingCountryCode": "de", "Tax_Registration__c": "DE123456789"},
        ACCOUNT,
    )
    org.seed(
        "Opportunity",
        {
            "IsWon": True,
            "StageName": "Closed Won",
            "AccountId": ACCOUNT,
            "CurrencyIsoCode": "EUR",
            # Salesforce sends currency fields as JSON numbers: 120000.10 must stay exact.
            "Amount": 120000.10,
            "Legal_Entity__c": "ACME-DE",
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
            f"a0M5g00000Q2cMs{n}AA",
        )
