"""milestone-to-revenue: one recognize-revenue per milestone invoice of the deal."""

from __future__ import annotations

from decimal import Decimal

from engine.sagas import SAGAS
from tests.unit.sagas_fixtures import (
    DEAL,
    PROJECT,
    History,
    milestone_contract,
    milestone_ref,
    run,
    tm_contract,
)

M2R = SAGAS["milestone-to-revenue"]


def test_invoices_wait_for_closed_won_then_each_milestone_is_recognised() -> None:
    h = History()
    early = h.invoice_issued("I-1", milestone_ref("M1"), "1000")
    waiting = run(M2R, [early])
    assert waiting.state.state == "pending"
    assert waiting.commands == []
    result = run(M2R, [h.closed_won(milestone_contract())], waiting.state)
    assert result.state.state == "tracking"
    (command,) = result.commands
    assert command.command_type == "recognize-revenue"
    assert command.idempotency_key == f"{DEAL}:revenue:{milestone_ref('M1')}"
    assert command.payload == {
        "project_id": PROJECT,
        "deal_id": DEAL,
        "milestone_id": "M1",
        "invoice_reference": milestone_ref("M1"),
        "amount": {"amount": Decimal("1000"), "currency": "EUR"},
    }
    done = run(M2R, [h.invoice_issued("I-2", milestone_ref("M2"), "500")], result.state)
    assert done.state.state == "completed"


def test_non_milestone_and_repeated_invoices_recognise_nothing_more() -> None:
    h = History()
    events = [
        h.closed_won(milestone_contract()),
        h.invoice_issued("I-1", milestone_ref("M1"), "1000"),
        h.invoice_issued("I-1b", milestone_ref("M1"), "1000"),
        h.invoice_issued("I-9", f"{DEAL}:te-invoice:period:0", "10"),
        h.invoice_issued("I-8", milestone_ref("M2", deal_id="OTHER"), "10"),
    ]
    result = run(M2R, events)
    assert result.keys == {f"{DEAL}:revenue:{milestone_ref('M1')}"}
    assert result.state.state == "tracking"


def test_contract_without_milestones_is_not_applicable() -> None:
    h = History()
    result = run(M2R, [h.closed_won(tm_contract())])
    assert result.state.state == "not_applicable"


def test_cancellation_stops_recognition() -> None:
    h = History()
    events = [
        h.closed_won(milestone_contract()),
        h.deal_cancelled(),
        h.invoice_issued("I-1", milestone_ref("M1"), "1000"),
    ]
    result = run(M2R, events)
    assert result.state.state == "cancelled"
    assert result.commands == []
