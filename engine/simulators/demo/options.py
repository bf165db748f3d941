"""What a demo run is: its options and the simulated set-up they give (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import time as wall_time

from engine.contracts import ClosedWon
from engine.sagas import DEAL_SAGA, SAGAS
from engine.simulators.clock import SimClock
from engine.simulators.deals import DealBook, DealConfig
from engine.simulators.erp import ErpConfig
from engine.simulators.faults import FaultConfig
from engine.simulators.platforms import SimConfig

# The deal saga first, then the sagas that start with it (on the same events): the demo's deals
# run through these. A saga started by other events (change-order) has no demo traffic.
SAGA_TYPES = (
    DEAL_SAGA,
    *(
        name
        for name, d in SAGAS.items()
        if name != DEAL_SAGA and set(d.starts_on) & set(SAGAS[DEAL_SAGA].starts_on)
    ),
)
# Most projects activate within 2-36 simulated hours; one in ten waits for a project manager
# for 60-120 hours: the visible tail that breaches the 72 h activation SLA.
DEMO_ERP = ErpConfig(activation_hours=(2.0, 36.0), slow_fraction=0.1)


@dataclass(frozen=True)
class DemoOptions:
    """What the demo runs: how many deals, how fast the simulated clock goes, which faults.

    `platforms` (e.g. `PlatformChoice.parse("salesforce,netsuite,stripe")`) makes the
    simulated platforms speak their native formats through the gateway, and the engine's
    commands go out through the outbound connectors; None keeps the canonical path.
    """

    deals: int = 200
    seed: int = 7
    # One real second is one simulated day: a six-week contract plays out in under a minute.
    time_scale: float = 86_400.0
    faults: bool = False
    bad_fraction: float = 0.1
    term_days: tuple[int, int] = (14, 42)
    billing_period_days: tuple[int, ...] = (7, 14)
    payment_terms_days: tuple[int, ...] = (15, 30)
    max_wait_s: float | None = None
    live: bool = True
    # With `faults`: (start, duration) in real seconds of the billing platform's outage.
    outage_s: tuple[float, float] = (8.0, 10.0)
    # The deals are won one after another over the first simulated hours of the run.
    win_spread_hours: float = 12.0
    # Printed next to the status page's address (the token `demo` generated for it).
    viewer_token: str | None = None
    platforms: tuple[str, ...] | None = None
    # The engine as `q2c run` worker processes instead of in this process: the live worker is
    # killed with SIGKILL this many times, `kill_every_s` real seconds apart, and restarted.
    worker_kills: int = 0
    kill_every_s: float = 10.0
    worker_log_dir: Path | None = None  # None: a new temporary folder, kept for inspection
    # With `platforms`: at the end, every command of the run is delivered to its connector once
    # more (an operator's replay from the start): the platforms must show no second effect.
    redeliver: bool = False


def fault_config(
    outage_s: tuple[float, float] = (8.0, 10.0),
) -> tuple[FaultConfig, FaultConfig, FaultConfig]:
    """(crm, erp, billing) faults of `--faults`: latency everywhere, errors, a billing outage."""
    crm = FaultConfig(latency_ms=(5, 60), error_rate=0.1)
    erp = FaultConfig(latency_ms=(20, 200), error_rate=0.2)
    billing = FaultConfig(
        latency_ms=(10, 150),
        error_rate=0.2,
        outage_start_s=outage_s[0],
        outage_duration_s=outage_s[1],
    )
    return crm, erp, billing


def sim_config(options: DemoOptions, id_prefix: str, deals: DealBook | None = None) -> SimConfig:
    """The simulated platforms' behaviour and faults for these options; with `deals` (the
    run's book) they answer only those deals' commands."""
    own = None if deals is None else frozenset(d.deal_id for d in deals.deals)
    if not options.faults:
        return SimConfig(seed=options.seed, id_prefix=id_prefix, erp=DEMO_ERP, only_deals=own)
    crm, erp, billing = fault_config(options.outage_s)
    return SimConfig(
        seed=options.seed,
        id_prefix=id_prefix,
        erp=DEMO_ERP,
        only_deals=own,
        crm_faults=crm,
        erp_faults=erp,
        billing_faults=billing,
    )


def deal_config(options: DemoOptions, id_prefix: str) -> DealConfig:
    """The generated deals' shape for these options."""
    return DealConfig(
        bad_fraction=options.bad_fraction,
        term_days=options.term_days,
        billing_period_days=options.billing_period_days,
        payment_terms_days=options.payment_terms_days,
        id_prefix=id_prefix,
        guid_ids="dynamics" in (options.platforms or ()),
    )


def wait_budget_s(options: DemoOptions, clock: SimClock) -> float:
    """Real seconds to wait for every deal: the longest contract, payment terms, late payers
    and the final period's grace, on the simulated clock, plus room for the engine."""
    if options.max_wait_s is not None:
        return options.max_wait_s
    days = options.term_days[1] + max(options.payment_terms_days) + 8 + 3
    return clock.real_seconds(timedelta(days=days)) * 1.5 + 60.0


def demo_clock(options: DemoOptions) -> SimClock:
    """A paused clock at 08:00 UTC today: it runs from `begin()`, once the engine is ready.

    With worker processes it reads the wall clock, the one time source every process shares,
    so that the workers can follow it (`SimClock.spec`)."""
    start = datetime.combine(datetime.now(UTC).date(), time(8), tzinfo=UTC)
    if options.worker_kills:
        return SimClock(options.time_scale, start=start, monotonic=wall_time, running=False)
    return SimClock(options.time_scale, start=start, running=False)


def spread_wins(book: DealBook, clock: SimClock, hours: float) -> list[ClosedWon]:
    """The deals' closed-won events, won one after another over `hours` from the clock's start."""
    count = max(len(book.deals), 1)
    return [
        d.closed_won.model_copy(
            update={
                "envelope": d.closed_won.envelope.model_copy(
                    update={"occurred_at": clock.start + timedelta(hours=hours * i / count)}
                )
            }
        )
        for i, d in enumerate(book.deals)
    ]
