"""Dynamics, SAP, Oracle and Certinia connectors against their emulators: one effect per command."""

from __future__ import annotations

import pytest

from engine.connectors.certinia.outbound import CertiniaConnector
from engine.connectors.dynamics.outbound import DynamicsConnector
from engine.connectors.oracle.outbound import OracleConnector
from engine.connectors.outbound.errors import Rejected
from engine.connectors.sap.outbound import SapConnector
from engine.contracts import InvoiceIssued, ProjectCreated
from engine.emulators.dynamics import DynamicsEmulator
from engine.emulators.oracle import OracleEmulator
from engine.emulators.salesforce import SalesforceEmulator
from engine.emulators.sap import SapEmulator
from tests.connectors.conftest import emulator_config
from tests.connectors.samples import (
    close_project,
    create_project,
    escalate,
    issue_invoice,
    recognize_revenue,
    update_crm_status,
    update_project_budget,
)


async def test_dynamics_update_only_and_create_only_upserts() -> None:
    with DynamicsEmulator().running() as dv:
        assert isinstance(dv, DynamicsEmulator)
        dv.seed("opportunities", {"q2c_dealid": "D-1"})
        async with DynamicsConnector(emulator_config(dv, "dynamics")) as conn:
            await conn.handle(update_crm_status("D-1", "ACTIVE"))
            with pytest.raises(Rejected) as missing:
                await conn.handle(update_crm_status("D-404"))  # If-Match: * never creates
            await conn.handle(escalate("D-1"))
            await conn.handle(escalate("D-1"))  # If-None-Match: * -> 412 = already done
    assert missing.value.status == 404
    assert dv.find("opportunities", "q2c_dealid", "D-1")[0]["q2c_status"] == "ACTIVE"
    assert dv.effects.count("create", "opportunities") == 0
    assert dv.effects.count("create", "incidents") == 1
    assert dv.effects.count("update", "incidents") == 0


async def test_dynamics_429_retry_after_is_waited_out() -> None:
    with DynamicsEmulator().running() as dv:
        assert isinstance(dv, DynamicsEmulator)
        dv.seed("opportunities", {"q2c_dealid": "D-1"})
        limit = {"error": {"code": "0x80072322", "message": "Number of requests exceeded"}}
        dv.fail_next(2, 429, limit, {"Retry-After": "0"})
        async with DynamicsConnector(emulator_config(dv, "dynamics")) as conn:
            await conn.handle(update_crm_status("D-1"))
    assert dv.effects.count("update", "opportunities") == 1
    assert dv.statuses[429] == 2


async def test_sap_checks_before_create_and_refetches_a_stale_csrf_token() -> None:
    with SapEmulator().running() as sap:
        assert isinstance(sap, SapEmulator)
        async with SapConnector(emulator_config(sap, "sap")) as conn:
            (first,) = await conn.handle(create_project("D-1"))
            sap.expire_csrf()
            (again,) = await conn.handle(create_project("D-1"))  # redelivered: found, not created
            assert isinstance(first, ProjectCreated) and isinstance(again, ProjectCreated)
            await conn.handle(close_project(first.project_id))  # 403 stale token -> refetch
            await conn.handle(close_project(first.project_id))  # already closed: no write
    assert first.project_id == again.project_id
    assert sap.effects.count("create") == 1
    assert sap.effects.count("update") == 1
    assert sap.by_external_id("D-1")[0]["ProcessingStatus"] == "40"
    assert sap.csrf_fetches == 2


async def test_oracle_upsert_mode_project_and_query_before_create_invoice() -> None:
    with OracleEmulator().running() as ora:
        assert isinstance(ora, OracleEmulator)
        async with OracleConnector(emulator_config(ora, "oracle")) as conn:
            (p1,) = await conn.handle(create_project("D-1"))
            (p2,) = await conn.handle(create_project("D-1"))
            command = issue_invoice("D-1", "invoice-1")
            (i1,) = await conn.handle(command)
            (i2,) = await conn.handle(command)
            assert isinstance(p1, ProjectCreated) and isinstance(p2, ProjectCreated)
            await conn.handle(close_project(p1.project_id))
    assert p1.project_id == p2.project_id
    assert isinstance(i1, InvoiceIssued) and isinstance(i2, InvoiceIssued)
    assert i1.invoice.invoice_id == i2.invoice.invoice_id
    assert ora.effects.count("create", "projects") == 1
    assert ora.effects.count("create", "receivablesInvoices") == 1
    assert ora.effects.count("complete", "receivablesInvoices") == 1
    assert ora.items("projects")[0]["ProjectStatus"] == "CLOSED"


async def test_certinia_project_and_milestones_in_one_composite() -> None:
    with SalesforceEmulator().running() as org:
        assert isinstance(org, SalesforceEmulator)
        async with CertiniaConnector(emulator_config(org, "certinia")) as conn:
            (first,) = await conn.handle(create_project("D-1"))
            (again,) = await conn.handle(create_project("D-1"))
            assert isinstance(first, ProjectCreated) and isinstance(again, ProjectCreated)
            await conn.handle(close_project(first.project_id, "D-1"))
            requests = conn.http.requests
    assert first.project_id == again.project_id
    assert org.effects.count("create", "pse__Proj__c") == 1
    assert org.effects.count("create", "pse__Milestone__c") == 2
    milestones = org.fields_of("pse__Milestone__c", "Q2C_Id__c", "D-1:M1")
    assert milestones[0]["pse__Project__c"] == first.project_id
    assert org.fields_of("pse__Proj__c", "Q2C_Id__c", "D-1")[0]["pse__Stage__c"] == "Completed"
    assert requests == 3  # two composites and one upsert


async def test_certinia_revenue_and_budget_update_the_records_q2c_created() -> None:
    with SalesforceEmulator().running() as org:
        assert isinstance(org, SalesforceEmulator)
        async with CertiniaConnector(emulator_config(org, "certinia")) as conn:
            await conn.handle(create_project("D-1"))
            revenue, budget = recognize_revenue("D-1"), update_project_budget("D-1")
            for command in (revenue, revenue, budget, budget):  # each one redelivered
                await conn.handle(command)
    (milestone,) = org.fields_of("pse__Milestone__c", "Q2C_Id__c", "D-1:M1")
    (project,) = org.fields_of("pse__Proj__c", "Q2C_Id__c", "D-1")
    assert milestone["pse__Include_In_Financials__c"] is True
    assert milestone["pse__Status__c"] == "Planned"
    assert project["pse__Bookings__c"] == "12500.0000"
    assert project["Q2C_Amendment_Id__c"] == "A-1"
    assert org.effects.count("create") == 3  # the project and its two milestones only
