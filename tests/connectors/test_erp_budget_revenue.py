"""update-project-budget and recognize-revenue on NetSuite, SAP and Oracle: one effect each.

Each command is delivered twice (what a redelivery after a crash or a retry after a lost reply
does); the emulator's effect log shows the platform changed once.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from engine.adapters.errors import PermanentError
from engine.connectors.http import HttpConfig
from engine.connectors.netsuite.outbound import NetSuiteConnector
from engine.connectors.oracle.outbound import OracleConnector, source_reference
from engine.connectors.outbound.errors import PlatformError, Rejected
from engine.connectors.sap.outbound import SapConnector
from engine.connectors.sap.outbound_revenue import document_reference, posted_document
from engine.contracts import ProjectCreated
from engine.emulators.base import Emulator
from engine.emulators.netsuite import NetSuiteEmulator
from engine.emulators.oracle import OracleEmulator
from engine.emulators.sap import CONFIRMATION, ENTITY, JOURNAL_ITEMS, SapEmulator
from tests.connectors.conftest import emulator_config
from tests.connectors.samples import create_project, recognize_revenue, update_project_budget
from tests.connectors.transports import Recording


async def test_netsuite_budget_is_written_onto_the_job_once_and_never_creates_one() -> None:
    with NetSuiteEmulator().running() as ns:
        assert isinstance(ns, NetSuiteEmulator)
        async with NetSuiteConnector(emulator_config(ns, "netsuite")) as conn:
            await conn.handle(create_project("D-1"))
            first, second = (
                update_project_budget("D-1", "A-1"),
                update_project_budget("D-1", "A-2", "15000"),
            )
            for command in (first, first, second, second):  # each one redelivered
                await conn.handle(command)
            with pytest.raises(Rejected) as missing:
                await conn.handle(update_project_budget("D-404"))
    updates = ns.effects.of("update", "job")
    assert [u.fields for u in updates] == [
        {"estimatedRevenue": 12500.0},
        {"estimatedRevenue": 15000.0},
    ]
    assert {u.key for u in updates} == {"D-1"}  # upserted by the job's external id
    job = ns.by_external_id("job", "D-1")
    assert job is not None and job["estimatedRevenue"] == 15000.0
    assert (missing.value.status, missing.value.code) == (404, "NONEXISTENT_ID")
    assert ns.effects.count("create", "job") == 1


async def test_sap_budget_patches_the_project_once_with_its_etag() -> None:
    with SapEmulator().running() as sap:
        assert isinstance(sap, SapEmulator)
        async with SapConnector(emulator_config(sap, "sap")) as conn:
            (created,) = await conn.handle(create_project("D-1"))
            assert isinstance(created, ProjectCreated)
            budget = update_project_budget("D-1", project_id=created.project_id)
            sap.expire_csrf()  # the update refetches the token, once
            await conn.handle(budget)
            await conn.handle(budget)  # redelivered: the project already holds it
    (update,) = sap.effects.of("update", ENTITY)
    assert update.fields == {"YY1_Q2CBudget_PRJ": "12500.00", "YY1_Q2CBudgetCrcy_PRJ": "EUR"}
    assert sap.by_external_id("D-1")[0]["YY1_Q2CBudget_PRJ"] == "12500.00"
    assert sap.csrf_fetches == 2


async def test_sap_revenue_posts_one_balanced_journal_entry_per_command() -> None:
    revenue, other = recognize_revenue("D-1", "revenue-M1"), recognize_revenue("D-1", "revenue-M2")
    with SapEmulator().running() as sap:
        assert isinstance(sap, SapEmulator)
        async with SapConnector(emulator_config(sap, "sap")) as conn:
            await conn.handle(revenue)
            await conn.handle(revenue)  # redelivered: found by its reference, not posted
            await conn.handle(other)  # another milestone: its own entry
    reference = document_reference(revenue.header.idempotency_key)
    assert [e.key for e in sap.effects.of("create", "JournalEntry")] == [
        reference,
        document_reference(other.header.idempotency_key),
    ]
    items = [
        i for i in sap.entities[JOURNAL_ITEMS].values() if i["DocumentReferenceID"] == reference
    ]
    assert sorted(i["AmountInTransactionCurrency"] for i in items) == ["-1000.00", "1000.00"]
    assert {(i["GLAccount"], i["CompanyCode"]) for i in items} == {
        ("12100000", "1010"),
        ("41000000", "1010"),
    }
    assert sap.csrf_fetches == 0  # SOAP and reads need no CSRF token


async def test_oracle_budget_version_created_once_then_its_amount_line_patched() -> None:
    with OracleEmulator().running() as ora:
        assert isinstance(ora, OracleEmulator)
        async with OracleConnector(emulator_config(ora, "oracle")) as conn:
            first, second = (
                update_project_budget("D-1", "A-1"),
                update_project_budget("D-1", "A-2", "15000"),
            )
            for command in (first, first, second, second):
                await conn.handle(command)
            await conn.handle(update_project_budget("D-2"))  # another deal, its own version
    assert ora.effects.count("create", "projectBudgets") == 2
    (update,) = ora.effects.of("update", "projectBudgets")
    assert (update.key, update.fields) == ("D-1", {"RevenueAmounts": 15000.0})
    (version,) = [v for v in ora.items("projectBudgets") if v["ProjectNumber"] == "D-1"]
    assert version["PlanVersionName"] == "q2c"
    (resource,) = version["PlanningResources"]
    assert resource["PlanningAmounts"][0]["RevenueAmounts"] == 15000.0


async def test_oracle_revenue_is_one_billing_event_found_by_its_q2c_reference() -> None:
    revenue = recognize_revenue("D-1")
    with OracleEmulator().running() as ora:
        assert isinstance(ora, OracleEmulator)
        async with OracleConnector(emulator_config(ora, "oracle")) as conn:
            await conn.handle(revenue)
            await conn.handle(revenue)  # redelivered: the lookup finds the event
            await conn.handle(recognize_revenue("D-1", "revenue-M2"))
    assert ora.effects.count("create", "projectBillingEvents") == 2
    (event,) = [
        e
        for e in ora.items("projectBillingEvents")
        if e["SourceReference"] == source_reference(revenue.header.idempotency_key)
    ]
    assert (event["BillTrnsAmount"], event["BillTrnsCurrencyCode"]) == (1000.0, "EUR")
    assert (event["ProjectNumber"], event["SourceName"]) == ("D-1", "q2c")


def test_references_are_stable_and_fit_the_platform_fields() -> None:
    long_key = "D-1:" + "x" * 300
    assert document_reference("D-1:revenue-M1") == document_reference("D-1:revenue-M1")
    assert document_reference("D-1:revenue-M1") != document_reference("D-1:revenue-M2")
    assert len(document_reference(long_key)) == 16
    assert source_reference("D-1:revenue-M1") == "D-1:revenue-M1"
    assert len(source_reference(long_key)) <= 50
    assert source_reference(long_key) == source_reference(long_key)


def test_a_journal_entry_sap_refused_is_a_permanent_error() -> None:
    refused = CONFIRMATION.format(document="0000000000", company="1010", year="2026", severity="3")
    with pytest.raises(PermanentError, match="severity 3"):
        posted_document(refused.encode())
    posted = CONFIRMATION.format(document="0100000001", company="1010", year="2026", severity="1")
    assert posted_document(posted.encode()) == "0100000001"


ErpConnector = NetSuiteConnector | SapConnector | OracleConnector
ConnectorFactory = Callable[[HttpConfig, httpx.AsyncBaseTransport], ErpConnector]
# case -> emulator, connector, (method, path part) whose reply is lost, the effect (kind, record)
LOST_REPLY_CASES: dict[
    str, tuple[Callable[[], Emulator], ConnectorFactory, tuple[str, str], str, str]
] = {
    "netsuite-budget": (
        NetSuiteEmulator, lambda c, t: NetSuiteConnector(c, transport=t), ("PUT", "/job/"),
        "update", "job",
    ),
    "sap-budget": (
        SapEmulator, lambda c, t: SapConnector(c, transport=t), ("PATCH", ENTITY + "("),
        "update", ENTITY,
    ),
    "sap-revenue": (
        SapEmulator, lambda c, t: SapConnector(c, transport=t), ("POST", "journalentry"),
        "create", "JournalEntry",
    ),
    "oracle-budget": (
        OracleEmulator, lambda c, t: OracleConnector(c, transport=t), ("POST", "/projectBudgets"),
        "create", "projectBudgets",
    ),
    "oracle-revenue": (
        OracleEmulator, lambda c, t: OracleConnector(c, transport=t),
        ("POST", "/projectBillingEvents"), "create", "projectBillingEvents",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(LOST_REPLY_CASES))
async def test_a_retry_after_a_lost_reply_finds_the_effect_and_makes_no_second_one(
    case: str,
) -> None:
    emulator_type, connector_for, lose, kind, record = LOST_REPLY_CASES[case]
    platform = case.split("-")[0]
    recording = Recording()
    with emulator_type().running() as emulator:
        async with connector_for(emulator_config(emulator, platform), recording) as conn:
            (created,) = await conn.handle(create_project("D-1"))
            assert isinstance(created, ProjectCreated)
            recording.lose = lose  # from now on: the project's creation is not what is lost
            command = (
                recognize_revenue("D-1")
                if case.endswith("revenue")
                else update_project_budget("D-1", project_id=created.project_id)
            )
            with pytest.raises(PlatformError, match="timed out"):
                await conn.handle(command)  # the effect happened; the reply was lost
            await conn.handle(command)  # what the runner's retry does
    assert recording.lose is None  # the reply was indeed lost once
    assert emulator.effects.count(kind, record) == 1
