"""Cycle times and SLA breaches are observed once, from the saga's own business timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.runtime.translate import to_saga_event
from engine.saga.engine import step
from engine.sagas import SAGAS
from engine.sagas.quote_to_cash_hooks import cycle_observations, sla_breaches
from engine.workload.histories import HistoryOptions, deal_history, master_data
from engine.workload.reference import run_reference

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_each_cycle_is_observed_once_over_a_lifecycle() -> None:
    history = deal_history("D-1", HistoryOptions(milestones=2, base_time=T0))
    run = run_reference(history[:1], master_data(["D-1"]), T0)  # closed-won + validation
    state = run.states[("quote-to-cash", "D-1")]
    seen: list[tuple[str, float]] = []
    for model in history[1:]:
        after = step(SAGAS["quote-to-cash"], state, to_saga_event(model, "D-1"), T0).state
        seen += cycle_observations(state.data, after.data)
        state = after
    names = [name for name, _ in seen]
    assert names.count("closed_won_to_activation") == 1
    assert names.count("activation_to_billing_ready") == 1
    assert names.count("milestone_to_invoice") == 2
    assert names.count("invoice_to_payment") == 2
    assert dict(seen)["closed_won_to_activation"] == timedelta(minutes=2).total_seconds()


def test_sla_breaches_count_new_breaches_only() -> None:
    assert sla_breaches({}, {"sla_breached": True}) == ["activation"]
    assert sla_breaches({"sla_breached": True}, {"sla_breached": True}) == []
    assert sla_breaches({"dunned": ["I1"]}, {"dunned": ["I1", "I2"]}) == ["payment"]


def test_metrics_never_break_a_step() -> None:
    """time-and-expense keeps invoices by period (not invoice records); odd data is skipped."""
    from engine.runtime.processor import _observe
    from engine.saga.model import SagaState

    te = SagaState(
        "time-and-expense", "D-1", "accruing", {"invoices": {"0": "D-1:te-invoice:period:0"}}
    )
    _observe("time-and-expense", None, te)
    odd = SagaState("quote-to-cash", "D-1", "active", {"invoices": {"I-1": "not-a-record"}})
    _observe("quote-to-cash", None, odd)  # logged, not raised
