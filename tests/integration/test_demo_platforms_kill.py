"""The quote-to-cash lifecycle through the connectors and the emulators while the engine's
worker is killed with SIGKILL mid-run and restarted, and every command is delivered to its
connector again at the end: every deal still ends where it should and each platform shows one
effect per command.

Three platform combinations (NetSuite + Salesforce + Stripe; Dynamics + SAP + Stripe;
Salesforce + Certinia + Stripe). The first also runs at least once, where a killed worker's
commands really are sent again (exactly once, the aborted transaction's commands are never
seen): the connectors' idempotency is then what keeps each effect single.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from engine.settings import ProcessingMode, Settings
from engine.simulators.demo import run_demo
from tests.integration.test_demo import QUOTE_TO_CASH
from tests.integration.test_demo_platforms import OPTIONS

pytestmark = pytest.mark.kafka
PROJECT_RECORD = {"netsuite": "job", "sap": "A_EnterpriseProject", "certinia": "pse__Proj__c"}
COMBOS = {
    "salesforce-netsuite-stripe": ("salesforce", "netsuite", "stripe"),
    "dynamics-sap-stripe": ("dynamics", "sap", "stripe"),
    "salesforce-certinia-stripe": ("salesforce", "certinia", "stripe"),
}


@pytest.mark.parametrize(
    ("combo", "mode"),
    [
        pytest.param("salesforce-netsuite-stripe", ProcessingMode.AT_LEAST_ONCE, id="ns-alo"),
        pytest.param(
            "salesforce-netsuite-stripe",
            ProcessingMode.EXACTLY_ONCE,
            id="ns-eos",
            marks=pytest.mark.long,
        ),
        pytest.param(
            "dynamics-sap-stripe", ProcessingMode.EXACTLY_ONCE, id="sap", marks=pytest.mark.long
        ),
        pytest.param(
            "salesforce-certinia-stripe",
            ProcessingMode.EXACTLY_ONCE,
            id="certinia",
            marks=pytest.mark.long,
        ),
    ],
)
async def test_a_killed_worker_changes_no_deal_and_doubles_no_effect(
    kafka_bootstrap: str, unique: str, combo: str, mode: ProcessingMode, tmp_path: Path
) -> None:
    crm, erp, billing = COMBOS[combo]
    settings = Settings(
        bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"t{unique}.",
        group_id=f"g{unique}",
        http_port=0,
        processing_mode=mode,
    )
    options = dataclasses.replace(
        OPTIONS,
        platforms=(crm, erp, billing),
        worker_kills=2,
        kill_every_s=6.0,
        worker_log_dir=tmp_path,
        redeliver=True,
    )
    result = await run_demo(settings, options)

    assert result.workers_killed == 2
    assert result.unaccounted == [], result.unaccounted
    for deal in result.book.deals:
        expected = "exception" if deal.flaw is not None else "completed"
        assert result.final_state(QUOTE_TO_CASH, deal.deal_id) == expected, deal.deal_id
    assert result.dlq_records == 0
    stats = {s.platform: s for s in result.platform_stats}
    assert set(stats) == {crm, erp, billing}
    # Nothing created twice anywhere: the records each platform creates are keyed by q2c's ids.
    assert {p: s.repeated_creates for p, s in stats.items()} == dict.fromkeys(stats, 0)
    good = [d for d in result.book.deals if d.flaw is None]
    # One project per good deal, one invoice per invoice the billing behaviour issued, each
    # finalized once: however often the commands came.
    assert stats[erp].effect_counts.get(f"create {PROJECT_RECORD[erp]}") == len(good)
    invoices = sum(len(v) for v in result.invoices_by_deal.values())
    assert invoices >= len(good)
    assert stats[billing].effect_counts.get("create invoice") == invoices
    assert stats[billing].effect_counts.get("action finalize") == invoices
    # ... and every command did come twice: the replay at the end reached every platform.
    assert all(s.duplicates_prevented > 0 for s in stats.values()), stats
