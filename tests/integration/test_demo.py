"""The demo flow end to end on the test broker: every deal finishes or sits in exception."""

from __future__ import annotations

import dataclasses
import io

import pytest
from rich.console import Console

from engine.cli.demo import DemoOptions, print_summary, run_demo
from engine.contracts import BillingModel
from engine.settings import Settings

pytestmark = pytest.mark.kafka
QUOTE_TO_CASH = "quote-to-cash"
# A small, fast demo: short contracts on a clock running two simulated days per real second.
SMALL = DemoOptions(
    deals=12,
    seed=3,
    time_scale=86_400.0 * 2,
    bad_fraction=0.25,
    term_days=(4, 8),
    billing_period_days=(3, 4),
    payment_terms_days=(5, 10),
    max_wait_s=150.0,
    live=False,
)


@pytest.mark.parametrize("faults", [False, True], ids=["clean", "faults"])
async def test_demo_accounts_for_every_deal(
    kafka_bootstrap: str, unique: str, faults: bool
) -> None:
    settings = Settings(
        bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{unique}.", group_id=f"g{unique}"
    )
    options = dataclasses.replace(
        SMALL,
        faults=faults,
        outage_s=(1.0, 4.0),  # billing is down from 1 s to 5 s after it started
    )
    result = await run_demo(settings, options, console=Console(file=io.StringIO()))

    assert result.unaccounted == [], result.unaccounted
    assert result.exit_code == 0
    bad = {d.deal_id for d in result.book.deals if d.flaw is not None}
    assert len(bad) == 3
    for deal in result.book.deals:
        state = result.final_state(QUOTE_TO_CASH, deal.deal_id)
        if deal.deal_id in bad:
            assert state == "exception", (deal.deal_id, deal.flaw, state)
            assert result.exceptions[deal.deal_id]
            assert deal.deal_id not in result.invoices_by_deal
        else:
            assert state == "completed", (deal.deal_id, state)
        if deal.billing_model is BillingModel.MILESTONE and deal.deal_id not in bad:
            milestones = deal.closed_won.contract.milestones
            assert len(result.invoices_by_deal[deal.deal_id]) == len(milestones)
    good_milestone = [
        d for d in result.book.deals if d.flaw is None and d.billing_model is BillingModel.MILESTONE
    ]
    assert len(result.board.invoice_times()) == sum(
        len(d.closed_won.contract.milestones) for d in good_milestone
    )
    assert len(result.board.activation_times()) == 12 - len(bad)
    if faults:
        # Latency, transient errors (retried) and the billing outage did happen.
        assert sum(result.platforms.transient_failures.values()) > 0
        assert result.platforms.outage_seconds["billing"] >= 3.5
    out = Console(file=io.StringIO(), width=160)
    print_summary(out, result, settings)
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert "Sagas per final state" in text and "q2c sagas show" in text
