"""Demo runs one after another on one broker and consumer group (as `q2c demo` on one
Q2C_HOME): each run's platforms act on and count only that run's commands, although the
runs before it left commands its consumer groups never read (a canonical run reads them in
the simulated platforms' groups, a `--platforms` run in the connectors' groups)."""

from __future__ import annotations

import dataclasses

import pytest

from engine.settings import Settings
from engine.simulators.demo import DemoOptions, DemoResult, run_demo
from tests.integration.test_demo import QUOTE_TO_CASH, SMALL
from tests.integration.test_demo_platforms import OPTIONS as PLATFORM_OPTIONS

pytestmark = pytest.mark.kafka
CANONICAL = dataclasses.replace(SMALL, deals=4, bad_fraction=0.0)
NATIVE = dataclasses.replace(PLATFORM_OPTIONS, deals=4, bad_fraction=0.0)


def _once_per_deal(result: DemoResult) -> dict[str, int]:
    """How many of the commands each deal gets exactly once its platforms handled."""
    handled = result.platforms.commands_by_target
    return {
        "create-project": handled["erp"]["create-project"],
        "create-billing-schedule": handled["billing"]["create-billing-schedule"],
    }


async def _run(settings: Settings, options: DemoOptions) -> DemoResult:
    result = await run_demo(settings, options)
    assert result.unaccounted == [], result.unaccounted
    assert result.dlq_records == 0
    states = {result.final_state(QUOTE_TO_CASH, d.deal_id) for d in result.book.deals}
    assert states == {"completed"}, states
    return result


# About a minute (four demo runs): with -m long, to keep the suite within its budget.
@pytest.mark.long
async def test_each_run_acts_on_its_own_commands_only(kafka_bootstrap: str, unique: str) -> None:
    settings = Settings(
        bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"t{unique}.",
        group_id=f"g{unique}",
        http_port=0,
    )
    each = {"create-project": 4, "create-billing-schedule": 4}

    first = await _run(settings, CANONICAL)
    assert _once_per_deal(first) == each
    # The connectors' groups are new: the first run's commands wait unread at their start.
    native = await _run(settings, NATIVE)
    assert _once_per_deal(native) == each
    netsuite = next(s for s in native.platform_stats if s.platform == "netsuite")
    assert netsuite.effect_counts.get("create job") == 4  # no job for the first run's deals
    # The simulated platforms' groups stopped after the first run: the native run's commands
    # come before this run's.
    last = await _run(settings, CANONICAL)
    assert _once_per_deal(last) == each
