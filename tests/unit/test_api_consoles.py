"""The consoles' read models and routes over fixed states: finance money and billing status,
stuck sagas, throughput, one deal's timeline, bulk actions with dry run, exception notes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, Counter

from engine.api import console, finance
from engine.api.timeline import CommandSeen
from engine.sagas.milestone_to_revenue import MILESTONE_TO_REVENUE
from engine.sagas.quote_to_cash import QUOTE_TO_CASH
from tests.unit.api_fakes import (
    CLOCK_NOW,
    OPERATOR,
    VIEWER,
    FakeOperations,
    make_app,
    sample_states,
)
from tests.unit.sagas_fixtures import (
    NOW,
    History,
    milestone_contract,
    milestone_happy_path,
    milestone_ref,
    run,
)

V = {"Authorization": f"Bearer {VIEWER}"}
O = {"Authorization": f"Bearer {OPERATOR}"}  # noqa: E741


def states_with_extras() -> dict[Any, Any]:
    """sample_states() plus D-4 (active, nothing invoiced yet), D-5 (waiting for its ERP
    project) and the revenue saga of D-1 having recognised its first milestone."""
    states = sample_states()
    h4 = History("D-4")
    d4 = run(QUOTE_TO_CASH, milestone_happy_path(h4)[:5]).state
    h5 = History("D-5")
    d5 = run(QUOTE_TO_CASH, milestone_happy_path(h5)[:2]).state
    h1 = History("D-1")
    revenue = run(
        MILESTONE_TO_REVENUE,
        [
            h1.closed_won(milestone_contract()),
            h1.invoice_issued("I-1", milestone_ref("M1", "D-1"), "1000"),
        ],
    ).state
    for s in (d4, d5, revenue):
        states[(s.saga_type, s.saga_key)] = s
    return states


@pytest.fixture
def ops() -> FakeOperations:
    return FakeOperations()


@pytest.fixture
def client(ops: FakeOperations) -> TestClient:
    return TestClient(make_app(ops, states=states_with_extras()))


def test_finance_totals_per_currency_and_entity(client: TestClient) -> None:
    body = client.get("/api/v1/finance", headers=V).json()
    (row,) = body["totals"]
    assert (row["currency"], row["legal_entity"]) == ("EUR", "LE-DE")
    # D-1 paid 1000 + 500; D-2 owes 1000, due 2024-04-01, long past at the API's clock.
    assert Decimal(row["invoiced"]) == 2500 and Decimal(row["paid"]) == 1500
    assert Decimal(row["outstanding"]) == 1000 and Decimal(row["overdue"]) == 1000
    assert row["overdue_invoices"] == 1 and row["invoices"] == 3
    assert Decimal(row["recognised"]) == 1000  # only M1 of D-1 was recognised
    assert row["deals"] == 5


def test_a_deal_without_invoices_is_not_all_paid(client: TestClient) -> None:
    deals = {d["deal_id"]: d for d in client.get("/api/v1/finance", headers=V).json()["deals"]}
    assert deals["D-4"]["state"] == "active" and deals["D-4"]["billing"] == "not invoiced"
    assert deals["D-1"]["billing"] == "all paid"
    assert deals["D-2"]["billing"] == "overdue"
    assert deals["D-3"]["billing"] == "nothing billed"  # in exception, nothing was invoiced
    assert [i["invoice_id"] for i in deals["D-1"]["invoice_list"]] == ["I-1", "I-2"]
    billing = client.get("/api/v1/finance", headers=V).json()["billing"]
    assert billing == {"all paid": 1, "not invoiced": 2, "nothing billed": 1, "overdue": 1}


def test_histograms_count_every_cycle_and_sla_is_per_day(client: TestClient) -> None:
    body = client.get("/api/v1/finance", headers=V).json()
    over = client.get("/api/v1/overview", headers=V).json()["cycle_times"]
    for name in finance.HISTOGRAMS:
        h = body["histograms"][name]
        assert len(h["counts"]) == len(h["edges_h"]) and sum(h["counts"]) == over[name]["count"]
    # The fixtures win every deal on one day (event time); none breached its 72 h SLA.
    won = states_with_extras()[("quote-to-cash", "D-1")].data["closed_won_at"]
    assert body["sla"] == [{"day": won.date().isoformat(), "deals": 5, "breached": 0, "rate": 0.0}]


def test_histogram_buckets_and_open_end() -> None:
    h = finance.histogram([0, 30 * 60, 3 * 3600, 10_000 * 3600], edges_h=(0, 1, 6))
    assert h == {"edges_h": [0, 1, 6], "counts": [2, 1, 1]}


def test_stuck_sagas_by_expected_time_in_state() -> None:
    states = states_with_extras()
    # D-5 waits in creating_project (expected 4 h); active, completed and exception never count.
    assert console.stuck(states, NOW + timedelta(hours=3)) == []
    (item,) = console.stuck(states, NOW + timedelta(hours=5))
    assert (item["saga_key"], item["state"]) == ("D-5", "creating_project")
    assert item["in_state_seconds"] == pytest.approx(5 * 3600)
    assert item["expected_seconds"] == 4 * 3600


def test_operations_view_lists_stuck_sagas_and_throughput(ops: FakeOperations) -> None:
    app = make_app(ops, states=states_with_extras(), clock=NOW + timedelta(hours=5))
    body = TestClient(app).get("/api/v1/operations", headers=V).json()
    assert [s["saga_key"] for s in body["stuck"]] == ["D-5"]
    assert body["throughput"]["events_per_s"] is None  # one sample: no rate yet
    assert body["throughput"]["lag_total"] >= 0


def test_throughput_is_a_rate_over_samples() -> None:
    registry = CollectorRegistry()
    processed = Counter("q2c_records_processed", "", ["topic", "event_type"], registry=registry)
    Counter("q2c_commands_emitted", "", ["command_type", "target"], registry=registry)
    processed.labels("t", "e").inc(10)  # before the API started: not in any rate
    now = [100.0]
    meter = console.Throughput(registry, clock=lambda: now[0], window_s=60)
    assert meter.read()["events_per_s"] is None  # no time has passed
    now[0] += 10
    processed.labels("t", "e").inc(50)
    read = meter.read()
    assert read["events_total"] == 60 and read["events_per_s"] == pytest.approx(5.0)
    now[0] += 100  # the earlier samples fall out of the window
    assert meter.read()["events_per_s"] is None


def test_timeline_orders_events_commands_and_ids(client: TestClient, ops: FakeOperations) -> None:
    d1 = states_with_extras()[("quote-to-cash", "D-1")]
    (validated,) = [r for r in d1.history if r.event_type == "account-validated"]
    ops.commands = [
        CommandSeen(
            command_type="create-project",
            command_id="cmd-1",
            idempotency_key="D-1:create-project",
            causation_id=validated.event_id,
            issued_at=NOW + timedelta(days=400),  # another clock: placed by its cause instead
            topic="q2c.commands.erp",
            partition=0,
            offset=3,
        )
    ]
    body = client.get("/api/v1/deals/D-1/timeline", headers=V).json()
    assert body["commands_read"] is True
    assert body["states"] == {"milestone-to-revenue": "tracking", "quote-to-cash": "completed"}
    kinds = {e["kind"] for e in body["entries"]}
    assert {"status", "command"} <= kinds
    (command,) = [e for e in body["entries"] if e["kind"] == "command"]
    assert command["idempotency_key"] == "D-1:create-project" and command["system"] == "ERP/PSA"
    at = [e["at"] for e in body["entries"]]
    where = body["entries"].index(command)
    # Right after the events of its cause's instant, before anything later (the dunning timers).
    assert all(a == validated.at.isoformat() for a in at[:where])
    assert at[where + 1 :] == sorted(at[where + 1 :]) and at[-1] > validated.at.isoformat()
    systems = {e["system"] for e in body["entries"]}
    assert {"CRM", "ERP/PSA", "billing"} <= systems
    ids = {(p["kind"], p["id"]) for p in body["platform_ids"]}
    assert {("invoice_id", "I-1"), ("payment_id", "PAY-2")} <= ids
    assert any(k == "project_id" for k, _ in ids)
    assert client.get("/api/v1/deals/nope/timeline", headers=V).status_code == 404


def test_timeline_says_when_commands_are_missing(client: TestClient, ops: FakeOperations) -> None:
    ops.commands_fail = True
    body = client.get("/api/v1/deals/D-1/timeline", headers=V).json()
    assert body["commands_read"] is False and body["entries"]


def test_bulk_dry_run_previews_and_sends_nothing(client: TestClient, ops: FakeOperations) -> None:
    body = {"action": "retry", "keys": ["D-3", "D-2", "D-9"], "reason": "MDM fixed"}
    preview = client.post("/api/v1/exceptions/bulk", json=body, headers=O).json()
    assert preview["dry_run"] is True
    assert [(i["saga_key"], i["outcome"]) for i in preview["items"]] == [
        ("D-3", "would-retry"),
        ("D-2", "conflict"),
        ("D-9", "not-found"),
    ]
    assert ops.calls == []
    done = client.post("/api/v1/exceptions/bulk", json={**body, "dry_run": False}, headers=O)
    assert [i["outcome"] for i in done.json()["items"]] == ["requested", "conflict", "not-found"]
    assert [c[0] for c in ops.calls] == ["retry"]
    assert client.post("/api/v1/exceptions/bulk", json=body, headers=V).status_code == 403


def test_bulk_dlq_replay_dry_run(client: TestClient, ops: FakeOperations) -> None:
    body = {"topic": "q2c.crm.events.dlq", "error_class": "DecodeError"}
    preview = client.post("/api/v1/dlq/replay/bulk", json=body, headers=O).json()
    assert preview["status"] == "dry-run" and preview["matched"] == 1
    assert ops.calls == [("replay_matching", ("q2c.crm.events.dlq", "DecodeError", True))]


def test_notes_name_an_owner_and_show_on_the_exception(client: TestClient) -> None:
    note = {"note": "asked MDM to add the entity", "owner": "ana"}
    assert client.post("/api/v1/exceptions/D-3/note", json=note, headers=V).status_code == 403
    assert client.post("/api/v1/exceptions/D-3/note", json=note, headers=O).json()["noted"]
    client.post("/api/v1/exceptions/D-3/note", json={"note": "still waiting"}, headers=O)
    (item,) = client.get("/api/v1/exceptions", headers=V).json()["items"]
    assert item["owner"] == "ana"
    assert [n["text"] for n in item["notes"]] == ["asked MDM to add the entity", "still waiting"]
    assert item["age_seconds"] == pytest.approx((CLOCK_NOW - NOW).total_seconds())


def test_aging_counts_unfinished_deals_apart_from_exceptions() -> None:
    aging = console.aging(states_with_extras(), NOW + timedelta(hours=5))
    # D-2 and D-4 active, D-5 creating its project: in progress 5 h; D-3 in exception.
    assert sum(aging["in_progress"]["counts"]) == 3 and sum(aging["exception"]["counts"]) == 1
    edges = aging["in_progress"]["edges_h"]
    assert aging["in_progress"]["counts"][edges.index(1)] == 3  # the 1-6 h bucket
