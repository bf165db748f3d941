"""Read-backs on the real broker: a Salesforce CDC UPDATE carrying only the changed fields
(StageName, IsWon) is dead-lettered "needs read-back" while Salesforce is not configured,
`q2c dlq replay` sends it back once it is, and the translator reads the Opportunity, its
Account and milestones from the Salesforce emulator (after two 503s, retried) into a
complete closed-won that starts the deal's quote-to-cash saga. An SAP SalesOrder.Created
(keys only) is read back over OData from the SAP emulator into the closed-won of its deal."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest

from engine.connectors.mapping.engine import READBACK, rules_to_read_back
from engine.connectors.protocol import Unmapped
from engine.connectors.readback import Enricher
from engine.connectors.registry import load_mappings, native_events
from engine.connectors.salesforce.readback import SalesforceReader
from engine.connectors.sap.readback import SapReader
from engine.emulators.salesforce import SalesforceEmulator
from engine.emulators.sap import SapEmulator
from engine.runtime.app import Engine
from engine.workload.histories import CURRENCY, LEGAL_ENTITY, account_id_for, master_data
from tests.connector_cases import all_cases
from tests.connectors.conftest import emulator_config
from tests.connectors.salesforce_org import WON_OPPORTUNITY, Customer, seed_won_deal
from tests.integration.engine_support import cli, engine_settings, publish_all
from tests.integration.gateway_support import (
    CONNECTOR_SETTINGS,
    running_stack,
    signed_post,
    wait_letters,
    wait_state,
)

pytestmark = pytest.mark.kafka


async def test_a_cdc_update_is_read_back_after_a_replay_and_drives_a_saga(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    deal = f"006RB{unique}"  # the Opportunity's record id is the deal id
    case = next(c for c in all_cases() if c.name == "salesforce/opportunity-won.cdc")
    body = case.body_path.read_bytes().replace(WON_OPPORTUNITY.encode(), deal.encode())
    assert b"AccountId" not in body  # only the changed fields
    await publish_all(settings, master_data([deal]))
    customer = Customer(
        account_id=account_id_for(deal),
        name=f"Customer of {deal}",
        country="US",
        tax_registration=f"US-TAX-{deal}",
        legal_entity=LEGAL_ENTITY,
        currency=CURRENCY,
    )
    with SalesforceEmulator().running() as org:
        assert isinstance(org, SalesforceEmulator)
        seed_won_deal(org, deal, customer)

        # Salesforce not configured for read-backs: the event waits in the native DLQ.
        async with running_stack(settings) as stack:
            path, raw, headers = signed_post(case, body)
            assert (await stack.client.post(path, content=raw, headers=headers)).status_code == 200
            [letter] = await wait_letters(settings, 1)
        assert letter.value == raw
        assert letter.errors["needs.read-back"].startswith("Opportunity(Id, IsWon, AccountId")
        assert org.reads == []

        out = await asyncio.to_thread(cli, settings, "dlq", "replay", "--yes", user="ops")
        assert "1" in out

        # Salesforce answers 503 twice: the translator retries the batch, losing nothing.
        org.fail_next(2, 503, {"error": {"code": "SERVER_UNAVAILABLE"}})
        engine = Engine(settings, worker_id="rb-1")
        await engine.start()
        try:
            reader = SalesforceReader(emulator_config(org, "salesforce"))
            async with running_stack(settings, enricher=Enricher({"salesforce": reader})):
                state = await wait_state(settings, deal, "creating_project")
        finally:
            await engine.stop()
    # The saga took the read-back contract: its value and both milestones.
    assert state.data["contract"]["total_value"]["amount"] in ("120000.10", Decimal("120000.10"))
    assert len(state.data["contract"]["milestones"]) == 2
    assert [r[0] for r in org.reads] == [
        "Opportunity",
        "Account",
        "Q2C_Milestone__c",
        "Q2C_Rate__c",
    ]


async def test_a_sap_sales_order_is_read_back_over_odata_and_starts_its_deal(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    deal = f"SO{unique}"  # the sales order number is the deal id
    case = next(c for c in all_cases() if c.name == "sap/salesorder-created")
    body = case.body_path.read_bytes().replace(b'"3016329"', json.dumps(deal).encode())
    await publish_all(settings, master_data([deal]))
    # SAP's answers, for the deal's master data (account, legal entity, currency, country).
    answers = case.read_back()
    answers["order"].update(
        SalesOrder=deal,
        SoldToParty=account_id_for(deal),
        SalesOrganization=LEGAL_ENTITY,
        TransactionCurrency=CURRENCY,
    )
    answers["customer"] = {"Customer": account_id_for(deal), "CustomerName": f"Customer of {deal}"}
    answers["addresses"] = [{"AddressID": "1", "Country": "US"}]
    with SapEmulator().running() as erp:
        assert isinstance(erp, SapEmulator)
        natives = native_events(case.request(body))
        assert not isinstance(natives, Unmapped)
        [native] = natives
        [rule] = rules_to_read_back(native, load_mappings(CONNECTOR_SETTINGS)["sap"])
        erp.seed_answers(rule.read_back, {**native.document, READBACK: answers})
        engine = Engine(settings, worker_id="rb-sap")
        await engine.start()
        try:
            reader = SapReader(emulator_config(erp, "sap"))
            async with running_stack(settings, enricher=Enricher({"sap": reader})) as stack:
                path, raw, headers = signed_post(case, body)
                response = await stack.client.post(path, content=raw, headers=headers)
                assert response.status_code == 200, response.text
                state = await wait_state(settings, deal, "creating_project")
        finally:
            await engine.stop()
    contract = state.data["contract"]
    assert str(contract["total_value"]["amount"]).startswith("90000.3")
    assert [m["milestone_id"] for m in contract["milestones"]] == ["000001", "000002"]
    assert [r[0] for r in erp.reads] == [
        "A_SalesOrder",
        "A_Customer",
        "A_BusinessPartnerAddress",
        "A_SalesOrderBillingPlan",
        "A_SalesOrderBillingPlanItem",
    ]
