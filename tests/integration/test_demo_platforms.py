"""`q2c demo --platforms salesforce,netsuite,stripe`, small, on the test broker: native
events in through the gateway, commands out through the connectors to the emulators; every
deal ends where it should and each emulator shows exactly one effect per command."""

from __future__ import annotations

import dataclasses
import io

import pytest
from rich.console import Console

from engine.cli.demo import print_summary
from engine.settings import Settings
from engine.simulators.demo import run_demo
from tests.integration.test_demo import QUOTE_TO_CASH, SMALL

pytestmark = pytest.mark.kafka
PLATFORMS = ("salesforce", "netsuite", "stripe")
# Half a simulated day per real second, not SMALL's two: every event and command here is a
# few HTTP round trips and Kafka transactions (about a real second from a platform to the
# saga), which at two days a second is two simulated days: longer than the 72 h activation
# SLA from the win (every project escalated) and than the short contracts' billing periods
# (the periods closed before the approved time reached them, so nothing was billed).
OPTIONS = dataclasses.replace(
    SMALL, deals=6, seed=4, bad_fraction=0.2, platforms=PLATFORMS, time_scale=86_400.0 / 2
)


async def test_demo_through_the_platforms_has_one_effect_per_command(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = Settings(
        bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"t{unique}.",
        group_id=f"g{unique}",
        http_port=0,
    )
    result = await run_demo(settings, OPTIONS)

    assert result.unaccounted == [], result.unaccounted
    for deal in result.book.deals:
        expected = "exception" if deal.flaw is not None else "completed"
        assert result.final_state(QUOTE_TO_CASH, deal.deal_id) == expected, deal.deal_id
    assert result.dlq_records == 0
    handled = result.platforms.commands_by_target
    stats = {s.platform: s for s in result.platform_stats}
    assert set(stats) == set(PLATFORMS)
    crm, erp, billing = stats["salesforce"], stats["netsuite"], stats["stripe"]
    # Both directions went over HTTP: the CRM's wins and the ERP's and billing platform's
    # follow-ups natively through the gateway, the commands through the connectors.
    assert crm.native_events == len(result.book.deals) and crm.canonical_events == 0
    assert erp.native_events > 0 and billing.native_events > 0
    assert all(s.requests > 0 for s in stats.values())
    # One effect per command: each status update one Opportunity update, each escalation one
    # Case and the Opportunity's escalation flag (one composite), each create-project one
    # job, each issue-invoice one invoice (finalized once); nothing created twice.
    escalations = handled["crm"]["escalate"]
    assert crm.effect_counts.get("update Opportunity") == (
        handled["crm"]["update-crm-status"] + escalations
    )
    assert crm.effect_counts.get("create Case", 0) == escalations
    assert erp.effect_counts.get("create job") == handled["erp"]["create-project"]
    assert billing.effect_counts.get("create invoice") == handled["billing"]["issue-invoice"]
    assert billing.effect_counts.get("action finalize") == handled["billing"]["issue-invoice"]
    assert all(s.repeated_creates == 0 for s in stats.values())
    # Every good deal was invoiced through Stripe; no bad one was.
    good = [d for d in result.book.deals if d.flaw is None]
    assert handled["billing"]["issue-invoice"] >= len(good)
    out = io.StringIO()
    print_summary(Console(file=out, width=120), result, settings)
    summary = out.getvalue()
    assert "Platforms (both directions over HTTP)" in summary
    assert all(p in summary for p in PLATFORMS)
