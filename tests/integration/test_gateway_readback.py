"""Read-backs on the real broker: a Salesforce CDC UPDATE carrying only the changed fields
(StageName, IsWon) is dead-lettered "needs read-back" while Salesforce is not configured,
`q2c dlq replay` sends it back once it is, and the translator reads the Opportunity, its
Account and milestones from the Salesforce emulator (after two 503s, retried) into a
complete closed-won that starts the deal's quote-to-cash saga."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from engine.connectors.readback import Enricher
from engine.connectors.salesforce.readback import SalesforceReader
from engine.runtime.app import Engine
from engine.workload.histories import CURRENCY, LEGAL_ENTITY, account_id_for, master_data
from tests.connector_cases import all_cases
from tests.connectors.conftest import emulator_config
from tests.connectors.salesforce_org import WON_OPPORTUNITY, Customer, seed_won_deal
from tests.emulators.salesforce import SalesforceEmulator
from tests.integration.engine_support import cli, engine_settings, publish_all
from tests.integration.gateway_support import (
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
