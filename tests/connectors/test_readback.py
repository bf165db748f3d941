"""Read-backs through the platform clients against the emulators: a CDC UPDATE with only
changed fields becomes a complete closed-won; cached per record version; failures sorted."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.adapters.errors import TransientError
from engine.connectors.dynamics.readback import DynamicsReader
from engine.connectors.mapping import translate
from engine.connectors.mapping.engine import READBACK, rules_to_read_back
from engine.connectors.oracle.readback import OracleReader
from engine.connectors.protocol import NativeEvent, Unmapped
from engine.connectors.readback import Enricher, ReadBackCache
from engine.connectors.registry import load_mappings, native_events
from engine.connectors.salesforce.outbound import SalesforceConnector
from engine.connectors.salesforce.readback import SalesforceReader, soql
from engine.connectors.sap.readback import SapReader, odata_key
from engine.connectors.settings import ConnectorSettings
from engine.contracts.events import ClosedWon, ProjectCreated, TimeEntryApproved
from engine.emulators.dynamics import DynamicsEmulator
from engine.emulators.oracle import OracleEmulator
from engine.emulators.salesforce import SalesforceEmulator
from engine.emulators.sap import SapEmulator
from tests.connector_cases import all_cases, rendered
from tests.connectors.conftest import emulator_config
from tests.connectors.salesforce_org import ACCOUNT, WON_OPPORTUNITY, seed_won_deal

MAPPINGS = load_mappings(ConnectorSettings())
CASES = {c.name: c for c in all_cases()}
RECEIVED = CASES["salesforce/opportunity-won.cdc"].request().received_at


def _native(name: str) -> NativeEvent:
    natives = native_events(CASES[name].request())
    assert not isinstance(natives, Unmapped)
    [native] = natives
    return native


@pytest.fixture
def org() -> Iterator[SalesforceEmulator]:
    emulator = SalesforceEmulator()
    with emulator.running():
        seed_won_deal(emulator)
        yield emulator


def _enricher(org: SalesforceEmulator, cache: ReadBackCache | None = None) -> Enricher:
    reader = SalesforceReader(emulator_config(org, "salesforce"))
    return Enricher({"salesforce": reader}, cache)


async def test_a_cdc_update_with_only_changed_fields_becomes_a_complete_closed_won(
    org: SalesforceEmulator,
) -> None:
    native = _native("salesforce/opportunity-won.cdc")
    assert "AccountId" not in native.document["payload"]  # the event alone cannot say it
    async with _enricher(org) as enricher:
        enriched = await enricher.enrich(native, MAPPINGS["salesforce"])
    assert isinstance(enriched, NativeEvent)
    [won] = translate(
        enriched,
        MAPPINGS["salesforce"],
        CASES["salesforce/opportunity-won.cdc"].request().received_at,
    )  # type: ignore[misc]
    assert isinstance(won, ClosedWon)
    assert won.deal_id == WON_OPPORTUNITY
    assert (won.account.account_id, won.account.name) == (ACCOUNT, "Acme GmbH")
    assert (won.account.legal_entity, won.account.country) == ("ACME-DE", "DE")
    assert won.contract.total_value.amount == Decimal("120000.10")
    assert [m.amount.amount for m in won.contract.milestones] == [Decimal("60000.05")] * 2
    assert [m.name for m in won.contract.milestones] == ["Phase 1", "Phase 2"]
    assert won.contract.contract_id == WON_OPPORTUNITY  # no ContractId on the Opportunity
    # What was read: the Opportunity, then its Account by the id the first read gave, then
    # the milestone and rate children by SOQL.
    assert [r[0] for r in org.reads] == [
        "Opportunity",
        "Account",
        "Q2C_Milestone__c",
        "Q2C_Rate__c",
    ]


async def test_a_record_version_is_read_once_and_the_event_id_stays_the_same(
    org: SalesforceEmulator,
) -> None:
    native = _native("salesforce/opportunity-won.cdc")
    received = CASES["salesforce/opportunity-won.cdc"].request().received_at
    async with _enricher(org) as enricher:
        first = await enricher.enrich(native, MAPPINGS["salesforce"])
        again = await enricher.enrich(native, MAPPINGS["salesforce"])  # a redelivery
    assert len(org.reads) == 4  # the second time came from the cache
    assert enricher.cache.hits == 4
    assert isinstance(first, NativeEvent) and isinstance(again, NativeEvent)
    translations = [translate(e, MAPPINGS["salesforce"], received) for e in (first, again)]
    assert not any(isinstance(t, Unmapped) for t in translations)
    assert translations[0] == translations[1]  # same event id, same content


async def test_a_gap_event_on_a_won_opportunity_is_read_back_into_a_closed_won(
    org: SalesforceEmulator,
) -> None:
    native = _native("salesforce/gap.cdc")
    gap_id = native.document["payload"]["ChangeEventHeader"]["recordIds"][0]
    seed_won_deal(org, gap_id)
    async with _enricher(org) as enricher:
        enriched = await enricher.enrich(native, MAPPINGS["salesforce"])
    assert isinstance(enriched, NativeEvent)
    [won] = translate(
        enriched, MAPPINGS["salesforce"], CASES["salesforce/gap.cdc"].request().received_at
    )  # type: ignore[misc]
    assert isinstance(won, ClosedWon) and won.deal_id == gap_id


async def test_a_missing_record_is_a_permanent_read_back_failure_naming_it(
    org: SalesforceEmulator,
) -> None:
    org.store.of("Opportunity").pop(WON_OPPORTUNITY)
    async with _enricher(org) as enricher:
        result = await enricher.enrich(
            _native("salesforce/opportunity-won.cdc"), MAPPINGS["salesforce"]
        )
    assert isinstance(result, Unmapped)
    assert result.reason.startswith(f"read-back of Opportunity {WON_OPPORTUNITY} failed")
    assert "404" in result.reason
    assert result.field_path == "payload.ChangeEventHeader.recordIds"


async def test_an_unavailable_platform_is_a_transient_failure_and_nothing_is_cached(
    org: SalesforceEmulator,
) -> None:
    native = _native("salesforce/opportunity-won.cdc")
    async with _enricher(org) as enricher:
        org.fail_next(1, 503, {"error": {"code": "SERVER_UNAVAILABLE"}})
        with pytest.raises(TransientError):
            await enricher.enrich(native, MAPPINGS["salesforce"])
        enriched = await enricher.enrich(native, MAPPINGS["salesforce"])  # the retry
    assert isinstance(enriched, NativeEvent)
    assert enriched.document["readback"]["opportunity"]["AccountId"] == ACCOUNT


async def test_without_a_reader_the_event_needs_a_read_back() -> None:
    result = await Enricher({}).enrich(
        _native("salesforce/opportunity-won.cdc"), MAPPINGS["salesforce"]
    )
    assert isinstance(result, Unmapped)
    assert result.reason.startswith("needs read-back of Opportunity(Id, IsWon, AccountId")


async def test_q2cs_own_change_and_an_event_without_a_rule_read_nothing(
    org: SalesforceEmulator,
) -> None:
    async with _enricher(org) as enricher:
        for name in (
            "salesforce/opportunity-won-by-q2c.cdc",
            "salesforce/opportunity-amount-update.cdc",
        ):
            native = _native(name)
            assert await enricher.enrich(native, MAPPINGS["salesforce"]) is native
    assert org.reads == []


async def test_reads_share_the_outbound_connectors_limiter(org: SalesforceEmulator) -> None:
    config = emulator_config(org, "salesforce")
    async with SalesforceReader(config) as reader, SalesforceConnector(config) as connector:
        assert reader.http.limiter is connector.http.limiter


def test_soql_values_are_escaped_and_names_checked() -> None:
    query = soql("Q2C_Milestone__c", {"Opportunity__c": "x' OR Name != '"}, ["Id", "Name"])
    assert (
        query
        == "SELECT Id, Name FROM Q2C_Milestone__c WHERE Opportunity__c = 'x\\' OR Name != \\''"
    )
    with pytest.raises(Exception, match="not an API name"):
        soql("Account WHERE", {"Id": "1"}, ["Id"])


def test_fixture_record_id_is_the_seeded_one() -> None:
    doc = json.loads(Path(CASES["salesforce/opportunity-won.cdc"].body_path).read_text())
    assert doc["data"]["payload"]["ChangeEventHeader"]["recordIds"] == [WON_OPPORTUNITY]


async def test_an_oracle_project_event_reads_the_project_back_for_its_deal() -> None:
    native = _native("oracle/project-status-created")
    project_id = native.document["payload"]["ProjectId"]
    with OracleEmulator().running() as erp:
        assert isinstance(erp, OracleEmulator)
        erp.store.insert(
            "projects", {"ProjectId": project_id, "ProjectNumber": "deal-7"}, project_id
        )
        reader = OracleReader(emulator_config(erp, "oracle"))
        async with Enricher({"oracle": reader}) as enricher:
            enriched = await enricher.enrich(native, MAPPINGS["oracle"])
            assert isinstance(enriched, NativeEvent)
            [created] = translate(enriched, MAPPINGS["oracle"], RECEIVED)  # type: ignore[misc]
            missing = NativeEvent(
                "oracle",
                native.kind,
                "other",
                {**native.document, "payload": {**native.document["payload"], "ProjectId": "404"}},
            )
            failed = await enricher.enrich(missing, MAPPINGS["oracle"])
    assert isinstance(created, ProjectCreated)
    assert (created.deal_id, created.project_id) == ("deal-7", project_id)
    assert erp.reads == [("projects", project_id)]  # the emulator logs what it found
    assert isinstance(failed, Unmapped) and "404" in failed.reason
    assert failed.field_path == "payload.ProjectId"


async def test_a_sap_notification_event_reads_the_project_by_its_uuid() -> None:
    native = _native("sap/project-created")
    project_uuid = native.document["data"]["ProjectUUID"]
    with SapEmulator().running() as erp:
        assert isinstance(erp, SapEmulator)
        erp.projects[project_uuid] = {
            "ProjectUUID": project_uuid,
            "Project": "Q2C-deal-7",
            "ProjectExternalID": "deal-7",
            "__metadata": {"etag": 'W/"1"'},
        }
        reader = SapReader(emulator_config(erp, "sap"))
        async with Enricher({"sap": reader}) as enricher:
            enriched = await enricher.enrich(native, MAPPINGS["sap"])
            await enricher.enrich(native, MAPPINGS["sap"])  # a redelivery: from the cache
    assert isinstance(enriched, NativeEvent)
    [created] = translate(enriched, MAPPINGS["sap"], RECEIVED)  # type: ignore[misc]
    assert isinstance(created, ProjectCreated)
    assert (created.deal_id, created.project_id) == ("deal-7", project_uuid)
    assert erp.reads == [("A_EnterpriseProject", project_uuid)]
    assert erp.csrf_fetches == 0  # reads need no CSRF token


def test_sap_keys_are_guid_or_string_literals() -> None:
    assert (
        odata_key("fa163e1c-0000-1eda-8000-000000000007")
        == "guid'fa163e1c-0000-1eda-8000-000000000007'"
    )
    assert odata_key("90000001") == "'90000001'"
    assert odata_key("O'Neil") == "'O''Neil'"


async def test_a_dynamics_win_reads_opportunity_account_currency_and_milestones() -> None:
    native = _native("dynamics/win")
    opp = "1b2c3d4e-0000-4000-8000-00000000a001"  # the fixture's OpportunityClose.opportunityid
    account, currency = str(uuid.uuid4()), str(uuid.uuid4())
    with DynamicsEmulator().running() as crm:
        assert isinstance(crm, DynamicsEmulator)
        crm.seed("transactioncurrencies", {"isocurrencycode": "EUR"}, currency)
        crm.seed(
            "accounts",
            {"accountid": account, "name": "Contoso", "q2c_countrycode": "nl"},
            account,
        )
        crm.seed(
            "opportunities",
            {
                "opportunityid": opp,
                "_customerid_value": account,
                "_transactioncurrencyid_value": currency,
                "totalamount": 125000.5,  # a JSON number: read as an exact Decimal
                "q2c_legalentity": "CONTOSO-NL",
                "q2c_billingmodel": "Milestone",
                "q2c_paymenttermsdays": 45,
                "q2c_contractstart": "2026-02-01",
                "q2c_contractend": "2026-11-30",
            },
            opp,
        )
        crm.seed(
            "q2c_milestones",
            {
                "q2c_milestoneid": "MS-1",
                "_q2c_opportunity_value": opp,
                "q2c_name": "Go-live",
                "q2c_amount": 125000.5,
                "q2c_duedate": "2026-06-30",
            },
        )
        reader = DynamicsReader(emulator_config(crm, "dynamics"))
        async with Enricher({"dynamics": reader}) as enricher:
            enriched = await enricher.enrich(native, MAPPINGS["dynamics"])
    assert isinstance(enriched, NativeEvent)
    [won] = translate(enriched, MAPPINGS["dynamics"], RECEIVED)  # type: ignore[misc]
    assert isinstance(won, ClosedWon)
    assert (won.deal_id, won.account.name, won.account.country) == (opp, "Contoso", "NL")
    assert won.contract.total_value.amount == Decimal("125000.5")
    assert won.contract.currency == "EUR" and won.contract.payment_terms_days == 45
    assert [m.milestone_id for m in won.contract.milestones] == ["MS-1"]
    assert [r[0] for r in crm.reads] == [
        "opportunities",
        "accounts",
        "transactioncurrencies",
        "q2c_milestones",
        "q2c_rates",
    ]
    assert crm.reads[-1][1] == f"_q2c_opportunity_value eq {opp}"  # a GUID is written bare


async def test_a_certinia_timecard_approval_becomes_one_entry_per_day_with_hours(
    org: SalesforceEmulator,
) -> None:
    case = CASES["certinia/timecard-approved.cdc"]
    answers = json.loads(case.readback_path.read_text())  # JSON numbers, as the org sends
    org.seed("pse__Timecard_Header__c", answers["timecard"], answers["timecard"]["Id"])
    org.seed("Contact", answers["resource"], answers["resource"]["Id"])
    native = _native(case.name)
    assert native.mapping_name == "certinia"
    reader = SalesforceReader(emulator_config(org, "certinia"))
    async with Enricher({"certinia": reader}) as enricher:
        enriched = await enricher.enrich(native, MAPPINGS["certinia"])
    assert isinstance(enriched, NativeEvent)
    result = translate(enriched, MAPPINGS["certinia"], RECEIVED)
    assert not isinstance(result, Unmapped), result
    # Read over HTTP, the week is what the golden file says: Monday, Tuesday, Friday and
    # Saturday (Sunday, Wednesday and Thursday have no hours), dated in the week from Sunday
    # 1 March, hours exact.
    assert rendered(result) == json.loads(case.enriched_golden_path.read_text())
    assert all(isinstance(e, TimeEntryApproved) for e in result)
    assert [(e.entry.work_date.isoformat(), e.entry.hours) for e in result] == [  # type: ignore[attr-defined]
        ("2026-03-02", Decimal("8")),
        ("2026-03-03", Decimal("7.5")),
        ("2026-03-06", Decimal("6.25")),
        ("2026-03-07", Decimal("1.33")),
    ]
    assert [r[0] for r in org.reads] == ["pse__Timecard_Header__c", "Contact"]


def _seed_sap(erp: SapEmulator, native: NativeEvent, answers: dict[str, Any]) -> None:
    [rule] = rules_to_read_back(native, MAPPINGS["sap"])
    erp.seed_answers(rule.read_back, {**native.document, READBACK: answers})


@pytest.mark.parametrize("name", ["sap/salesorder-created", "sap/billingdocument-created"])
async def test_a_sap_notification_event_is_read_back_over_odata_into_its_golden_events(
    name: str,
) -> None:
    case = CASES[name]
    native = _native(name)
    with SapEmulator().running() as erp:
        assert isinstance(erp, SapEmulator)
        _seed_sap(erp, native, case.read_back())
        reader = SapReader(emulator_config(erp, "sap"))
        async with Enricher({"sap": reader}) as enricher:
            enriched = await enricher.enrich(native, MAPPINGS["sap"])
            await enricher.enrich(native, MAPPINGS["sap"])  # a redelivery: from the cache
    assert isinstance(enriched, NativeEvent)
    result = translate(enriched, MAPPINGS["sap"], RECEIVED)
    assert rendered(result) == json.loads(case.enriched_golden_path.read_text())
    [spec_count] = {len(r.read_back) for r in rules_to_read_back(native, MAPPINGS["sap"])}
    assert len(erp.reads) == spec_count  # each read once, the redelivery from the cache
    assert erp.csrf_fetches == 0  # reads need no CSRF token


async def test_a_sap_sales_order_reads_the_order_then_its_customer_and_billing_plan() -> None:
    native = _native("sap/salesorder-created")
    with SapEmulator().running() as erp:
        assert isinstance(erp, SapEmulator)
        _seed_sap(erp, native, CASES["sap/salesorder-created"].read_back())
        async with Enricher({"sap": SapReader(emulator_config(erp, "sap"))}) as enricher:
            enriched = await enricher.enrich(native, MAPPINGS["sap"])
    assert isinstance(enriched, NativeEvent)
    [won] = translate(enriched, MAPPINGS["sap"], RECEIVED)  # type: ignore[misc]
    assert isinstance(won, ClosedWon)
    assert (won.deal_id, won.account.account_id, won.account.country) == (
        "3016329",
        "17100001",
        "DE",
    )
    assert won.contract.total_value.amount == Decimal("90000.30")
    assert [m.amount.amount for m in won.contract.milestones] == [
        Decimal("30000.10"),
        Decimal("60000.20"),
    ]
    assert erp.reads == [
        ("A_SalesOrder", "3016329"),
        ("A_Customer", "17100001"),
        ("A_BusinessPartnerAddress", "BusinessPartner eq '17100001'"),
        ("A_SalesOrderBillingPlan", "SalesOrder eq '3016329'"),
        ("A_SalesOrderBillingPlanItem", "SalesOrder eq '3016329'"),
    ]


async def test_a_missing_or_cancelled_sap_billing_document_is_named_or_makes_no_invoice() -> None:
    native = _native("sap/billingdocument-created")
    answers = CASES["sap/billingdocument-created"].read_back()
    with SapEmulator().running() as erp:
        assert isinstance(erp, SapEmulator)
        async with Enricher({"sap": SapReader(emulator_config(erp, "sap"))}) as enricher:
            missing = await enricher.enrich(native, MAPPINGS["sap"])
        cancelled = {
            **answers,
            "document": {**answers["document"], "BillingDocumentIsCancelled": True},
        }
        _seed_sap(erp, native, cancelled)
        async with Enricher({"sap": SapReader(emulator_config(erp, "sap"))}) as enricher:
            enriched = await enricher.enrich(native, MAPPINGS["sap"])
    assert isinstance(missing, Unmapped)
    assert missing.reason.startswith(
        "read-back of API_BILLING_DOCUMENT_SRV/A_BillingDocument 90000042 failed"
    )
    assert "404" in missing.reason and missing.field_path == "data.BillingDocument"
    assert isinstance(enriched, NativeEvent)
    assert translate(enriched, MAPPINGS["sap"], RECEIVED) == []
