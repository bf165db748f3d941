"""time-and-expense: accrual per billing period, period invoices, rejections, late entries."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from engine.saga import CancelTimer
from engine.sagas import SAGAS
from tests.unit.sagas_fixtures import (
    DEAL,
    History,
    Item,
    Tick,
    milestone_contract,
    run,
    tm_contract,
)

TE = SAGAS["time-and-expense"]
# tm_contract(): Jan 1 .. Feb 29 2024, 30-day periods: period 0 = Jan 1..30, 1 = Jan 31..Mar 1.
CLOSE_0 = datetime(2024, 1, 31, tzinfo=UTC)
CLOSE_1 = datetime(2024, 3, 1, tzinfo=UTC)


def test_periods_are_invoiced_per_role_and_category_until_the_last_one() -> None:
    h = History()
    events: list[Item] = [
        h.closed_won(tm_contract()),
        h.time_entry("E1", "engineer", date(2024, 1, 2), "8"),
        h.time_entry("E2", "engineer", date(2024, 1, 3), "4.5"),
        h.time_entry("E3", "architect", date(2024, 1, 30), "2"),
        h.expense("X1", "travel", date(2024, 1, 5), "120.50"),
        h.expense("X2", "travel", date(2024, 1, 6), "79.50"),
        h.time_entry("E4", "engineer", date(2024, 1, 31), "1"),
        Tick(CLOSE_0),
    ]
    first = run(TE, events)
    assert first.state.state == "accruing"
    invoice = first.by_key()[f"{DEAL}:te-invoice:period:0"]
    assert [
        (line["description"], line["quantity"], line["amount"]["amount"])
        for line in invoice["lines"]
    ] == [
        ("architect time, period 0", Decimal("2"), Decimal("300.0000")),
        ("engineer time, period 0", Decimal("12.5"), Decimal("1250.0000")),
        ("travel expenses, period 0", Decimal("1"), Decimal("200.0000")),
    ]
    assert invoice["total"]["amount"] == Decimal("1750.0000")
    assert invoice["invoice_reference"] == f"{DEAL}:te-invoice:period:0"
    assert invoice["payment_terms_days"] == 14
    assert "period-close:1" in first.state.timers
    done = run(TE, [Tick(CLOSE_1)], first.state)
    assert done.state.state == "completed"
    last = done.by_key()[f"{DEAL}:te-invoice:period:1"]
    assert last["total"]["amount"] == Decimal("100.0000")


def test_unknown_role_is_rejected_with_reason_not_dropped() -> None:
    h = History()
    result = run(
        TE, [h.closed_won(tm_contract()), h.time_entry("E1", "juggler", date(2024, 1, 2), "3")]
    )
    reason = result.state.data["rejected"]["E1"]
    assert "juggler" in reason
    assert result.statuses()[-1].detail == reason
    assert result.state.data["periods"] == {}


def test_entry_outside_term_and_foreign_currency_expense_are_rejected() -> None:
    h = History()
    events: list[Item] = [
        h.closed_won(tm_contract()),
        h.time_entry("E1", "engineer", date(2024, 3, 5), "3"),
        h.expense("X1", "hotel", date(2024, 1, 5), "10", currency="USD"),
    ]
    result = run(TE, events)
    assert set(result.state.data["rejected"]) == {"E1", "X1"}


def test_same_entry_twice_counts_once() -> None:
    h = History()
    events: list[Item] = [
        h.closed_won(tm_contract()),
        h.time_entry("E1", "engineer", date(2024, 1, 2), "8"),
        h.time_entry("E1", "engineer", date(2024, 1, 2), "8"),  # new event id, same entry
        Tick(CLOSE_0),
    ]
    result = run(TE, events)
    invoice = result.by_key()[f"{DEAL}:te-invoice:period:0"]
    assert invoice["total"]["amount"] == Decimal("800.0000")


def test_late_entry_for_invoiced_period_goes_into_the_next_open_period() -> None:
    h = History()
    events: list[Item] = [
        h.closed_won(tm_contract()),
        h.time_entry("E1", "engineer", date(2024, 1, 2), "1"),
        Tick(CLOSE_0),
        h.time_entry("E2", "engineer", date(2024, 1, 10), "2"),  # period 0 already invoiced
        Tick(CLOSE_1),
    ]
    result = run(TE, events)
    assert result.by_key()[f"{DEAL}:te-invoice:period:0"]["total"]["amount"] == Decimal("100.0000")
    assert result.by_key()[f"{DEAL}:te-invoice:period:1"]["total"]["amount"] == Decimal("200.0000")


def test_empty_period_raises_no_invoice() -> None:
    h = History()
    result = run(TE, [h.closed_won(tm_contract()), Tick(CLOSE_1)])
    assert result.state.state == "completed"
    assert result.commands == []
    assert [s.detail for s in result.statuses()][-2:] == [
        "period 0 closed: nothing to bill",
        "period 1 closed: nothing to bill",
    ]


def test_milestone_deal_is_not_applicable() -> None:
    h = History()
    result = run(
        TE,
        [h.closed_won(milestone_contract()), h.time_entry("E1", "engineer", date(2024, 1, 2), "1")],
    )
    assert result.state.state == "not_applicable"
    assert result.commands == []
    assert result.state.timers == {}


def test_cancelled_deal_invoices_nothing_more() -> None:
    h = History()
    events: list[Item] = [
        h.closed_won(tm_contract()),
        h.time_entry("E1", "engineer", date(2024, 1, 2), "1"),
        h.deal_cancelled(),
        Tick(CLOSE_1),
    ]
    result = run(TE, events)
    assert result.state.state == "cancelled"
    assert result.commands == []
    assert CancelTimer("period-close:0") in result.effects
