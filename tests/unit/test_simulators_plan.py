"""The simulated platforms plan from the deal's won time, not from when a command arrived:
the same seed gives the same activation, milestone and invoice times in any order."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.contracts import InvoiceIssued, MilestoneCompleted, ProjectActivated
from engine.simulators.billing import BillingBehaviour
from engine.simulators.erp import ErpBehaviour, ErpConfig
from tests.unit.test_simulators_behaviours import NOW, _issue, command, deals

WON = {w.deal_id: NOW - timedelta(hours=3) for w in deals(milestone=True)}


Plan = dict[str, list[tuple[str, datetime]]]


def _plan(erp: ErpBehaviour, order: list[int], lag_hours: list[int]) -> Plan:
    """Each deal's activation and milestone times, handled in `order`, each `lag` late."""
    won = deals(milestone=True)
    out: Plan = {}
    for i, lag in zip(order, lag_hours, strict=True):
        w = won[i]
        cmd = command(
            "create-project", w.deal_id, "create-project",
            deal_id=w.deal_id, account=w.account, contract=w.contract,
        )  # fmt: skip
        reaction = erp.handle(cmd, NOW + timedelta(hours=lag))
        out[w.deal_id] = sorted(
            (e.envelope.event_type, e.envelope.occurred_at)
            for _, _, e in reaction.later
            if isinstance(e, ProjectActivated | MilestoneCompleted)
        )
    return out


@settings(max_examples=25, deadline=None)
@given(
    order=st.permutations(list(range(10))),
    lags=st.lists(st.integers(0, 48), min_size=10, max_size=10),
)
def test_erp_plan_does_not_depend_on_arrival_order_or_time(
    order: list[int], lags: list[int]
) -> None:
    reference = _plan(ErpBehaviour(random.Random(9), won_at=WON.get), list(range(10)), [0] * 10)
    shuffled = _plan(ErpBehaviour(random.Random(9), won_at=WON.get), order, lags)
    assert shuffled == reference


def test_slow_tail_activates_after_the_sla_window() -> None:
    config = ErpConfig(slow_fraction=1.0, slow_activation_hours=(80.0, 90.0))
    erp = ErpBehaviour(random.Random(1), won_at=WON.get, config=config)
    plan = _plan(erp, list(range(10)), [0] * 10)
    for deal_id, events in plan.items():
        activated = next(at for kind, at in events if kind == "project-activated")
        assert timedelta(hours=80) <= activated - WON[deal_id] <= timedelta(hours=90)


def test_milestone_invoice_is_issued_hours_after_its_milestone_whenever_asked() -> None:
    done = NOW - timedelta(days=2)
    seen = []
    for lag in (0, 30):
        billing = BillingBehaviour(random.Random(4), milestone_done=lambda d, m: done)
        cmd, _ = _issue(BillingBehaviour(random.Random(0)), "D-1", "invoice:milestone:M1", 30)
        reaction = billing.handle(cmd, NOW + timedelta(hours=lag))
        issued = reaction.now[0]
        assert isinstance(issued, InvoiceIssued)
        seen.append((issued.envelope.occurred_at, reaction.later[0][0]))
    assert seen[0] == seen[1]  # issue and payment times: the same however late it was asked
    at, _paid = seen[0]
    assert done + timedelta(hours=1) <= at <= done + timedelta(hours=8)
