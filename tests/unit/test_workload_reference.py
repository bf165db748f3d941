"""Every command the sagas emit over a whole lifecycle encodes as its contract (no broker)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.workload.histories import HistoryOptions, deal_history, master_data
from engine.workload.reference import run_reference

NOW = datetime(2026, 1, 6, tzinfo=UTC)


def test_milestone_lifecycle_reference_completes_with_valid_commands() -> None:
    deals = ["D-1", "D-2"]
    events = [e for d in deals for e in deal_history(d, HistoryOptions(milestones=3))]
    run = run_reference(events, master_data(deals), NOW)
    assert {k: s.state for k, s in run.states.items() if k[0] == "quote-to-cash"} == {
        ("quote-to-cash", "D-1"): "completed",
        ("quote-to-cash", "D-2"): "completed",
    }
    types = Counter(c.header.command_type for c in run.commands if c.header.saga_key == "D-1")
    assert types["issue-invoice"] == 3 and types["recognize-revenue"] == 3
    keys = [c.header.idempotency_key for c in run.commands]
    assert len(keys) == len(set(keys))


UNCORRELATED = deal_history("D-9", HistoryOptions(correlated_replies=False))
IN_ORDER = run_reference(UNCORRELATED, master_data(["D-9"]), NOW)


@settings(max_examples=40, deadline=None)
@given(st.permutations(range(1, len(UNCORRELATED))))
def test_source_id_only_replies_in_any_order_give_the_in_order_result(order: list[int]) -> None:
    shuffled = [UNCORRELATED[0], *(UNCORRELATED[i] for i in order)]
    run = run_reference(shuffled, master_data(["D-9"]), NOW)
    assert run.states[("quote-to-cash", "D-9")].state == "completed"
    assert run.correlation == IN_ORDER.correlation
    assert {c.header.idempotency_key for c in run.commands} == {
        c.header.idempotency_key for c in IN_ORDER.commands
    }


def test_unknown_account_ends_in_exception() -> None:
    run = run_reference(deal_history("D-3")[:1], master_data([]), NOW)
    state = run.states[("quote-to-cash", "D-3")]
    assert state.state == "exception"
    assert not any(c.header.command_type == "create-project" for c in run.commands)
