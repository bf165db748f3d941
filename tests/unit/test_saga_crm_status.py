"""The CRM's last accepted status equals the quote-to-cash saga's final state.

The CRM (as every target) drops a command whose idempotency key it has seen. A deal that
completes, is reopened by a late invoice and completes again must therefore send its second
"completed" under a key of its own, while a redelivered event still yields the same key.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.contracts import UpdateCrmStatus
from engine.saga import SagaCommand
from engine.sagas import SAGAS
from engine.sagas.common import CrmStatus
from engine.workload.histories import HistoryOptions, deal_history, master_data
from engine.workload.reference import run_reference
from tests.unit.sagas_fixtures import (
    DEAL,
    T0,
    History,
    Item,
    Run,
    Tick,
    run,
    tm_contract,
)

Q2C = SAGAS["quote-to-cash"]
CONTRACT_END = Tick(T0.replace(month=3, day=2, hour=0))
INVOICES = (("I-1", "800"), ("I-2", "300"), ("I-3", "125"))


def crm_accepted_statuses(commands: Iterable[SagaCommand]) -> list[str]:
    """The statuses a CRM that drops repeated idempotency keys applies, in order."""
    seen: set[str] = set()
    accepted: list[str] = []
    for command in commands:
        if command.command_type != "update-crm-status" or command.idempotency_key in seen:
            continue
        seen.add(command.idempotency_key)
        accepted.append(str(command.payload["status"]))
    return accepted


def _tm_start(h: History) -> list[Item]:
    return [
        h.closed_won(tm_contract()),
        h.account_validated(),
        h.project_created(),
        h.project_activated(),
        h.billing_schedule_created(),
    ]


def test_a_reopened_deal_completes_again_under_a_new_key() -> None:
    h = History()
    done = run(
        Q2C,
        [
            *_tm_start(h),
            h.invoice_issued("I-1", f"{DEAL}:te-invoice:period:0", "800"),
            h.payment_received("PAY-1", "I-1", "800"),
            CONTRACT_END,
        ],
    )
    assert done.state.state == "completed"
    late = run(
        Q2C,
        [
            h.invoice_issued("I-2", f"{DEAL}:te-invoice:period:1", "300"),
            h.payment_received("PAY-2", "I-2", "300"),
        ],
        done.state,
    )
    assert late.state.state == "completed"
    completed = [
        c.idempotency_key
        for c in (*done.commands, *late.commands)
        if c.command_type == "update-crm-status" and c.payload["status"] == "completed"
    ]
    assert completed == [f"{DEAL}:crm-status:completed", f"{DEAL}:crm-status:completed:reopen-1"]
    assert crm_accepted_statuses([*done.commands, *late.commands])[-1] == "completed"


@st.composite
def tm_histories(draw: st.DrawFn) -> list[Item]:
    """A T&M deal whose invoices, payments and contract end arrive in any order, with
    redeliveries: the contract end may fall between an invoice and its payment, or before an
    invoice (which reopens the deal), any number of times."""
    h = History()
    start = _tm_start(h)
    count = draw(st.integers(min_value=1, max_value=len(INVOICES)))
    tail: list[Item] = [CONTRACT_END]
    for n, (invoice_id, total) in enumerate(INVOICES[:count]):
        reference = f"{DEAL}:te-invoice:period:{n}"
        invoice = h.invoice_issued(invoice_id, reference, total, due=date(2024, 4, 1))
        payment = h.payment_received(f"PAY-{n}", invoice_id, total)
        # Each payment somewhere after its invoice (a completed deal does not keep a payment
        # that overtook the invoice reopening it).
        at = draw(st.integers(min_value=0, max_value=len(tail)))
        tail.insert(at, invoice)
        tail.insert(draw(st.integers(min_value=at + 1, max_value=len(tail))), payment)
    items: list[Item] = [*start, *tail]
    redelivered = draw(st.lists(st.sampled_from(items), max_size=4))
    return [*items, *(i for i in redelivered if not isinstance(i, Tick))]


@settings(max_examples=150, deadline=None)
@given(tm_histories())
def test_crm_last_accepted_status_is_the_final_state_of_a_tm_deal(items: list[Item]) -> None:
    result: Run = run(Q2C, items)
    assert result.state.state == "completed"
    assert crm_accepted_statuses(result.commands)[-1] == result.state.state
    # Redeliveries emit nothing, so every command key is distinct: no update is a duplicate.
    keys = [c.idempotency_key for c in result.commands]
    assert len(keys) == len(set(keys))


def test_crm_last_accepted_status_is_the_final_state_of_every_reference_deal() -> None:
    deals = ["D-1", "D-2", "D-3"]
    events = [e for d in deals for e in deal_history(d, HistoryOptions(milestones=2))]
    events += deal_history("D-4")[:1]  # no master data for D-4: it ends in `exception`
    reference = run_reference(events, master_data(deals), T0)
    finals = {k: s.state for (saga, k), s in reference.states.items() if saga == Q2C.name}
    assert set(finals.values()) == {"completed", "exception"}
    seen: set[str] = set()
    last: dict[str, str] = {}
    for command in reference.commands:
        key = command.header.idempotency_key
        if isinstance(command, UpdateCrmStatus) and key not in seen:
            seen.add(key)
            last[command.deal_id] = command.status
    assert last == finals


def test_every_business_state_of_the_deal_saga_is_a_crm_status() -> None:
    assert set(Q2C.states) - {"pending"} <= set(get_args(CrmStatus))
