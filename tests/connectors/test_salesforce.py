"""Salesforce connector against the Salesforce emulator: upserts, 300s, composite, limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.adapters.errors import PermanentError, TransientError
from engine.connectors.outbound.errors import Rejected
from engine.connectors.salesforce.outbound import SalesforceConnector
from engine.emulators.salesforce import SalesforceEmulator
from tests.connectors.conftest import emulator_config
from tests.connectors.samples import escalate, update_crm_status

EXT = "Q2C_Deal_Id__c"


@pytest.fixture
def org() -> Iterator[SalesforceEmulator]:
    emulator = SalesforceEmulator()
    with emulator.running():
        emulator.seed("Opportunity", {EXT: "D-1", "StageName": "Closed Won"})
        yield emulator


def _connector(org: SalesforceEmulator, **overrides: object) -> SalesforceConnector:
    return SalesforceConnector(emulator_config(org, "salesforce", **overrides))


async def test_update_crm_status_twice_updates_the_opportunity_and_creates_nothing(
    org: SalesforceEmulator,
) -> None:
    command = update_crm_status("D-1", "ACTIVE")
    async with _connector(org) as sf:
        await sf.handle(command)
        await sf.handle(command)
    (opp,) = org.fields_of("Opportunity", EXT, "D-1")
    assert opp["Q2C_Status__c"] == "ACTIVE"
    assert org.effects.count("create") == 0
    assert org.effects.count("update", "Opportunity") == 2
    # Every q2c write is marked, so the inbound side can skip it (changeOrigin).
    assert {e.client for e in org.effects.all()} == {"q2c"}


async def test_a_missing_opportunity_is_permanent_and_not_created(org: SalesforceEmulator) -> None:
    async with _connector(org) as sf:
        with pytest.raises(Rejected) as caught:
            await sf.handle(update_crm_status("D-404"))
    assert caught.value.code == "NOT_FOUND"
    assert org.effects.count() == 0


async def test_several_matches_is_a_permanent_error_naming_the_field(
    org: SalesforceEmulator,
) -> None:
    org.seed("Opportunity", {EXT: "D-1"})
    async with _connector(org) as sf:
        with pytest.raises(Rejected) as caught:
            await sf.handle(update_crm_status("D-1"))
    assert caught.value.status == 300
    assert caught.value.path == EXT
    assert org.effects.count() == 0


async def test_escalate_creates_one_case_and_flags_the_opportunity(org: SalesforceEmulator) -> None:
    command = escalate("D-1")
    async with _connector(org) as sf:
        await sf.handle(command)
        await sf.handle(command)  # redelivered
    assert org.effects.count("create", "Case") == 1
    assert org.fields_of("Opportunity", EXT, "D-1")[0]["Q2C_Escalation__c"] == "sla"


async def test_composite_all_or_none_leaves_nothing_when_a_part_fails(
    org: SalesforceEmulator,
) -> None:
    async with _connector(org) as sf:
        with pytest.raises(Rejected):
            await sf.handle(escalate("D-404"))  # no such opportunity: the case is rolled back
    assert org.effects.count() == 0


async def test_request_limit_403_is_waited_out_then_succeeds(org: SalesforceEmulator) -> None:
    limit = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    org.fail_next(2, 403, limit)
    async with _connector(org, max_retry_after_s=1.0) as sf:
        await sf.handle(update_crm_status("D-1"))
    assert org.effects.count("update", "Opportunity") == 1


async def test_request_limit_beyond_patience_is_transient(org: SalesforceEmulator) -> None:
    limit = [{"errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    org.fail_next(5, 403, limit)
    async with _connector(org, rate_limit_retries=1, max_retry_after_s=0.1) as sf:
        with pytest.raises(TransientError) as caught:
            await sf.handle(update_crm_status("D-1"))
    assert not isinstance(caught.value, PermanentError)
    assert "REQUEST_LIMIT_EXCEEDED" in str(caught.value)


async def test_an_expired_token_is_fetched_again_once(org: SalesforceEmulator) -> None:
    async with _connector(org) as sf:
        await sf.handle(update_crm_status("D-1", "ACTIVE"))
        org.revoke_tokens()
        await sf.handle(update_crm_status("D-1", "BILLING", step="crm-2"))
    assert org.tokens_issued == 2
    assert org.fields_of("Opportunity", EXT, "D-1")[0]["Q2C_Status__c"] == "BILLING"
