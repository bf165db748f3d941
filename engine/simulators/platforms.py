"""`Platforms`: the simulated CRM, ERP/PSA and billing platform, run together in one loop."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from engine.contracts import ClosedWon, Command
from engine.lifecycle import AsyncStartStop
from engine.settings import Settings
from engine.simulators.billing import BillingBehaviour, BillingConfig
from engine.simulators.crm import CrmBehaviour
from engine.simulators.erp import ErpBehaviour, ErpConfig
from engine.simulators.faults import NO_FAULTS, FaultConfig
from engine.simulators.runner import PlatformRunner

Clock = Callable[[], datetime]


def _real_time() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SimConfig:
    """How the simulated platforms behave and fail.

    `correlate_fraction` of the events they publish carry the deal id as correlation id; the
    rest carry only the platform's own ids (project id, invoice id). `id_prefix` keeps ids of
    different runs on one cluster apart. `only_deals`, when set, are the deals whose commands
    the platforms act on (see `answers`); None answers every command, as `q2c simulate` does.
    """

    seed: int = 7
    correlate_fraction: float = 0.8
    id_prefix: str = ""
    crm_faults: FaultConfig = NO_FAULTS
    erp_faults: FaultConfig = NO_FAULTS
    billing_faults: FaultConfig = NO_FAULTS
    erp: ErpConfig = field(default_factory=ErpConfig)
    billing: BillingConfig = field(default_factory=BillingConfig)
    only_deals: frozenset[str] | None = None

    def answers(self, command: Command) -> bool:
        """Whether the platforms act on `command`: always, or only for one of `only_deals`.

        A demo on a broker that carried earlier runs (`--keep`, or the same Q2C_HOME) can find
        their commands still unread by its consumer groups (an earlier run of the other kind
        read them in other groups): the platforms must neither act on those nor count them.
        Every saga's key is its deal's id, so the command's saga key names its deal.
        """
        return self.only_deals is None or command.header.saga_key in self.only_deals


@dataclass(frozen=True)
class PlatformsSnapshot:
    """Counters of all platforms at one moment."""

    commands_by_target: dict[str, Counter[str]]
    duplicates_suppressed: dict[str, int]
    events_published: Counter[str]
    transient_failures: dict[str, int]
    in_outage: dict[str, bool]
    outage_seconds: dict[str, float]

    @property
    def commands_total(self) -> int:
        return sum(sum(c.values()) for c in self.commands_by_target.values())

    @property
    def duplicates_total(self) -> int:
        return sum(self.duplicates_suppressed.values())


class Business:
    """The three platforms' business logic for one `SimConfig`, however they are connected.

    One random stream per platform (drawn from `seeds` in a fixed order): the platforms'
    behaviour does not depend on how their work interleaves. `won_at` is when each deal was
    won: the ERP plans a project from that moment, not from when the engine's command
    happened to arrive (see erp.py).
    """

    def __init__(self, config: SimConfig) -> None:
        self.seeds = seeds = random.Random(config.seed)
        self.won_at: dict[str, datetime] = {}
        self.crm = CrmBehaviour()
        self.erp = ErpBehaviour(
            random.Random(seeds.getrandbits(64)),
            id_prefix=config.id_prefix,
            correlate_fraction=config.correlate_fraction,
            config=config.erp,
            won_at=self.won_at.get,
        )
        done = self.erp.milestone_done_at
        self.billing = BillingBehaviour(
            random.Random(seeds.getrandbits(64)),
            id_prefix=config.id_prefix,
            correlate_fraction=config.correlate_fraction,
            config=config.billing,
            milestone_done=lambda deal_id, milestone_id: done.get((deal_id, milestone_id)),
        )


class Platforms(AsyncStartStop):
    """CRM, ERP and billing simulators sharing one simulated clock; `async with` runs them."""

    def __init__(
        self, settings: Settings, config: SimConfig | None = None, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.config = config = config or SimConfig()
        self.clock: Clock = clock or _real_time
        business = Business(config)
        seeds = business.seeds
        self.won_at = business.won_at
        self.crm_behaviour = business.crm
        self.erp_behaviour = business.erp
        self.billing_behaviour = business.billing
        self.crm = self._runner("crm", self.crm_behaviour, config.crm_faults, seeds)
        self.erp = self._runner("erp", self.erp_behaviour, config.erp_faults, seeds)
        self.billing = self._runner("billing", self.billing_behaviour, config.billing_faults, seeds)
        self.runners: tuple[PlatformRunner, ...] = (self.crm, self.erp, self.billing)
        self._started: list[PlatformRunner] = []

    def _runner(
        self,
        name: str,
        behaviour: CrmBehaviour | ErpBehaviour | BillingBehaviour,
        faults: FaultConfig,
        seeds: random.Random,
    ) -> PlatformRunner:
        return PlatformRunner(
            name,
            behaviour,
            self.settings,
            self.clock,
            faults=faults,
            rng=random.Random(seeds.getrandbits(64)),
            answers=self.config.answers,
        )

    async def start(self) -> None:
        """Start all three; if one fails to start, the ones already started are stopped."""
        try:
            for runner in self.runners:
                await runner.start()
                self._started.append(runner)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop every platform that was started (each commits and leaves its group)."""
        started, self._started = self._started, []
        await asyncio.gather(*(r.stop() for r in started), return_exceptions=True)

    async def win(self, deals: Iterable[ClosedWon], *, batch: int = 50) -> int:
        """The CRM publishes these deals as closed-won now (sim clock); returns how many."""
        count = 0
        pending: list[ClosedWon] = []
        for deal in deals:
            pending.append(deal)
            if len(pending) >= batch:
                count += await self._win_batch(pending)
                pending = []
        if pending:
            count += await self._win_batch(pending)
        return count

    async def _win_batch(self, deals: list[ClosedWon]) -> int:
        now = self.clock()
        stamped = [
            d.model_copy(update={"envelope": d.envelope.model_copy(update={"occurred_at": now})})
            for d in deals
        ]
        self.won_at.update((d.deal_id, now) for d in stamped)
        await asyncio.gather(*(self.crm.publish(d) for d in stamped))
        return len(stamped)

    def schedule_wins(self, deals: Iterable[ClosedWon]) -> int:
        """The CRM publishes each deal when the simulated clock reaches its `occurred_at`."""
        count = 0
        for deal in deals:
            self.won_at[deal.deal_id] = deal.envelope.occurred_at
            self.crm.timeline.schedule(deal.envelope.occurred_at, deal.deal_id, deal)
            count += 1
        return count

    def snapshot(self) -> PlatformsSnapshot:
        """Current counters of every platform."""
        return PlatformsSnapshot(
            commands_by_target={
                r.behaviour.target: Counter(r.counters.commands_handled) for r in self.runners
            },
            duplicates_suppressed={
                r.behaviour.target: r.duplicates_suppressed for r in self.runners
            },
            events_published=sum(
                (Counter(r.counters.events_published) for r in self.runners), Counter()
            ),
            transient_failures={
                r.behaviour.target: r.counters.transient_failures for r in self.runners
            },
            in_outage={r.behaviour.target: r.in_outage for r in self.runners},
            outage_seconds={r.behaviour.target: r.outage_seconds for r in self.runners},
        )
