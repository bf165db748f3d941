"""`q2c demo`'s flow: options, the run itself and its result (the CLI only renders them)."""

from engine.simulators.demo.flow import DemoObserver, SilentObserver, refuse_shared_group, run_demo
from engine.simulators.demo.observe import Progress
from engine.simulators.demo.options import (
    SAGA_TYPES,
    DemoOptions,
    deal_config,
    demo_clock,
    fault_config,
    sim_config,
    spread_wins,
    wait_budget_s,
)
from engine.simulators.demo.result import DemoResult

__all__ = [
    "SAGA_TYPES",
    "DemoObserver",
    "DemoOptions",
    "DemoResult",
    "Progress",
    "SilentObserver",
    "deal_config",
    "demo_clock",
    "fault_config",
    "refuse_shared_group",
    "run_demo",
    "sim_config",
    "spread_wins",
    "wait_budget_s",
]
