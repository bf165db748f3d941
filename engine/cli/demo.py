"""`q2c demo`: a broker, the engine and simulated platforms pushing deals through quote-to-cash.

`run_demo` is the flow (tests call it directly); `demo` is the CLI wrapper that also starts
and stops the local broker when Q2C_BOOTSTRAP_SERVERS is not set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from engine.codec import DecodeError, decode
from engine.contracts import SagaStatusChanged
from engine.kafka.client import Consumer
from engine.kafka.connection import client_options
from engine.kafka.global_table import TopicFollower
from engine.kafka.records import InRecord, TopicPartition
from engine.localkafka import LocalCluster, load_cluster, start_cluster
from engine.runtime.app import Engine
from engine.runtime.inspect import read_all_states
from engine.runtime.names import TARGETS, TopicNames
from engine.saga.model import SagaState
from engine.sagas import DEAL_SAGA, SAGAS
from engine.settings import Settings, SettingsError, load_settings
from engine.simulators import (
    DealBook,
    DealConfig,
    FaultConfig,
    Platforms,
    PlatformsSnapshot,
    SimClock,
    SimConfig,
    generate_deals,
    seed_master_data,
)
from engine.simulators.board import SagaBoard, percentile
from engine.topics import ensure_topics

log = logging.getLogger("q2c.demo")
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
TICK_S = 0.5
# Time to let the other sagas of settled deals reach their end before the final read.
SETTLE_GRACE_S = 5.0


@dataclass(frozen=True)
class DemoOptions:
    """What the demo runs: how many deals, how fast the simulated clock goes, which faults."""

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


@dataclass
class DemoResult:
    """Everything the summary shows, for tests and the exit code."""

    book: DealBook
    final_states: dict[tuple[str, str], SagaState]
    board: SagaBoard
    platforms: PlatformsSnapshot
    invoices_by_deal: dict[str, list[str]]
    escalations: int
    validations_answered: int
    dlq_records: int
    unaccounted: list[str]
    elapsed_s: float
    bootstrap: str
    exceptions: dict[str, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 1 if self.unaccounted else 0

    def final_state(self, saga_type: str, deal_id: str) -> str | None:
        state = self.final_states.get((saga_type, deal_id))
        return state.state if state else None


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


def sim_config(options: DemoOptions, id_prefix: str) -> SimConfig:
    if not options.faults:
        return SimConfig(seed=options.seed, id_prefix=id_prefix)
    crm, erp, billing = fault_config(options.outage_s)
    return SimConfig(
        seed=options.seed,
        id_prefix=id_prefix,
        crm_faults=crm,
        erp_faults=erp,
        billing_faults=billing,
    )


def deal_config(options: DemoOptions, id_prefix: str) -> DealConfig:
    return DealConfig(
        bad_fraction=options.bad_fraction,
        term_days=options.term_days,
        billing_period_days=options.billing_period_days,
        payment_terms_days=options.payment_terms_days,
        id_prefix=id_prefix,
    )


def wait_budget_s(options: DemoOptions, clock: SimClock) -> float:
    """Real seconds to wait for every deal: the longest contract, payment terms, late payers
    and the final period's grace, on the simulated clock, plus room for the engine."""
    if options.max_wait_s is not None:
        return options.max_wait_s
    days = options.term_days[1] + max(options.payment_terms_days) + 8 + 3
    return clock.real_seconds(timedelta(days=days)) * 1.5 + 60.0


# -- observing ------------------------------------------------------------------------------


class _Offsets:
    """Sums of end offsets of groups of topics: events, commands, dead letters."""

    def __init__(self, settings: Settings) -> None:
        names = TopicNames(settings.topic_prefix)
        inbound = names.inbound
        self.groups: dict[str, list[str]] = {
            "events": inbound,
            "commands": [names.commands(t) for t in TARGETS],
            "dlq": sorted({names.dlq(t) for t in [*inbound, names.inbox, names.commands("crm")]}),
        }
        self._consumer = Consumer(client_options(settings), group_id=None)
        self._parts: dict[str, list[TopicPartition]] = {}

    async def start(self) -> None:
        await self._consumer.start()
        for group, topics in self.groups.items():
            self._parts[group] = [
                TopicPartition(t, p) for t in topics for p in await self._consumer.partitions_for(t)
            ]

    async def stop(self) -> None:
        await self._consumer.stop()

    async def totals(self) -> dict[str, int]:
        return {
            group: sum((await self._consumer.end_offsets(parts)).values())
            for group, parts in self._parts.items()
        }


def _status_applier(board: SagaBoard) -> Callable[[InRecord], None]:
    def apply(rec: InRecord) -> None:
        if rec.value is None:
            return
        try:
            model = decode(rec.value, topic=rec.topic, partition=rec.partition, offset=rec.offset)
        except DecodeError as exc:
            log.warning("unreadable status record: %s", exc)
            return
        if isinstance(model, SagaStatusChanged):
            board.apply(model)

    return apply


# -- rendering ------------------------------------------------------------------------------


@dataclass
class _Live:
    """The numbers the live view shows, refreshed every tick."""

    clock: SimClock
    board: SagaBoard
    platforms: Platforms
    started: float
    rates: dict[str, float] = field(default_factory=dict)
    dlq: int = 0

    def render(self, now: float) -> Group:
        table = Table(title="q2c demo: sagas per state", expand=False)
        table.add_column("state")
        for saga_type in SAGA_TYPES:
            table.add_column(saga_type, justify="right")
        counts = {t: self.board.counts(t) for t in SAGA_TYPES}
        states = sorted({s for c in counts.values() for s in c})
        for state in states:
            table.add_row(state, *(str(counts[t].get(state, 0) or "") for t in SAGA_TYPES))
        snap = self.platforms.snapshot()
        down = [name for name, out in snap.in_outage.items() if out]
        line = Text(
            f"sim {self.clock():%Y-%m-%d %H:%M}  real {now - self.started:5.1f}s  "
            f"events/s {self.rates.get('events', 0):6.1f}  "
            f"commands/s {self.rates.get('commands', 0):6.1f}  "
            f"DLQ {self.dlq}  exceptions {counts[DEAL_SAGA].get('exception', 0)}  "
            f"retries {sum(snap.transient_failures.values())}  "
            f"duplicates {snap.duplicates_total}" + (f"  OUTAGE: {', '.join(down)}" if down else "")
        )
        return Group(table, line)


def _hours(values: list[timedelta]) -> tuple[str, str]:
    hours = [v.total_seconds() / 3600 for v in values]
    return _fmt_hours(percentile(hours, 50)), _fmt_hours(percentile(hours, 95))


def _fmt_hours(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} h"


def render_summary(result: DemoResult, settings: Settings) -> Group:
    """The end-of-run tables: final states, cycle times, commands, exceptions, next steps."""
    states = Table(title="Sagas per final state")
    states.add_column("saga type")
    states.add_column("state")
    states.add_column("count", justify="right")
    counted: Counter[tuple[str, str]] = Counter(
        (t, s.state) for (t, k), s in result.final_states.items()
    )
    for (saga_type, state), n in sorted(counted.items()):
        states.add_row(saga_type, state, str(n))

    cycles = Table(title="Cycle times (simulated clock)")
    cycles.add_column("from -> to")
    cycles.add_column("n", justify="right")
    cycles.add_column("p50", justify="right")
    cycles.add_column("p95", justify="right")
    activation = result.board.activation_times()
    invoicing = result.board.invoice_times()
    cycles.add_row("closed-won -> project-activated", str(len(activation)), *_hours(activation))
    cycles.add_row("milestone-completed -> invoice-issued", str(len(invoicing)), *_hours(invoicing))

    commands = Table(title="Commands handled per target")
    commands.add_column("target")
    commands.add_column("commands", justify="right")
    commands.add_column("duplicates suppressed", justify="right")
    commands.add_column("transient failures", justify="right")
    commands.add_column("outage", justify="right")
    commands.add_row("masterdata (engine)", str(result.validations_answered), "-", "-", "-")
    snap = result.platforms
    for target, counter in snap.commands_by_target.items():
        detail = ", ".join(f"{k} {v}" for k, v in sorted(counter.items()))
        commands.add_row(
            target,
            f"{sum(counter.values())} ({detail})" if detail else "0",
            str(snap.duplicates_suppressed[target]),
            str(snap.transient_failures[target]),
            f"{snap.outage_seconds[target]:.0f}s",
        )

    exceptions = Table(title=f"Exceptions ({len(result.exceptions)})")
    exceptions.add_column("reason")
    exceptions.add_column("deals", justify="right")
    exceptions.add_column("example")
    by_reason: dict[str, list[str]] = {}
    for deal_id, reason in sorted(result.exceptions.items()):
        by_reason.setdefault(_reason_kind(deal_id, reason), []).append(deal_id)
    for reason, deals in sorted(by_reason.items()):
        exceptions.add_row(reason, str(len(deals)), deals[0])

    example = next(iter(sorted(result.exceptions)), None) or next(
        (d.deal_id for d in result.book.deals), "<deal-id>"
    )
    env = f"Q2C_BOOTSTRAP_SERVERS={result.bootstrap}"
    if settings.topic_prefix:
        env += f" Q2C_TOPIC_PREFIX={settings.topic_prefix}"
    lines = [
        Text(
            f"{len(result.book.deals)} deals in {result.elapsed_s:.0f}s; DLQ records "
            f"{result.dlq_records}; CRM escalations {result.escalations}; invoices "
            f"{sum(len(v) for v in result.invoices_by_deal.values())}"
        ),
        Text("Inspect afterwards:", style="bold"),
        Text(f"  {env} q2c sagas show {DEAL_SAGA} {example}"),
        Text(f"  {env} q2c dlq list"),
        Text(f"  {env} q2c sagas list --state exception"),
    ]
    if result.unaccounted:
        lines.insert(
            0,
            Text(
                f"UNACCOUNTED: {len(result.unaccounted)} deal(s) neither finished nor in "
                f"exception: {', '.join(result.unaccounted[:10])}",
                style="bold red",
            ),
        )
    return Group(states, cycles, commands, exceptions, *lines)


def _reason_kind(deal_id: str, reason: str) -> str:
    """The reason without the ids in it, so equal causes group together."""
    words = [w for w in reason.split() if not any(ch.isdigit() for ch in w)]
    return " ".join(words) or reason


# -- the flow -------------------------------------------------------------------------------


async def run_demo(
    settings: Settings, options: DemoOptions, *, console: Console | None = None
) -> DemoResult:
    """Run the whole demo against the broker in `settings`; stops all it started, always."""
    console = console or Console()
    loop = asyncio.get_running_loop()
    started = loop.time()
    run_tag = f"r{uuid.uuid4().hex[:6]}-"  # keeps this run's ids apart from earlier runs
    await ensure_topics(settings)
    names = TopicNames(settings.topic_prefix)
    clock = SimClock(options.time_scale)
    book = generate_deals(
        options.deals, seed=options.seed, start=clock().date(), config=deal_config(options, run_tag)
    )
    await seed_master_data(settings, book)
    board = SagaBoard([d.deal_id for d in book.deals])
    follower = TopicFollower([names.status], _status_applier(board))
    offsets = _Offsets(settings)
    engine = Engine(settings, clock=clock, worker_id="demo-1")
    platforms = Platforms(settings, sim_config(options, run_tag), clock)
    stack = contextlib.AsyncExitStack()
    async with stack:
        await engine.start()
        stack.push_async_callback(engine.stop)
        await engine.wait_ready()
        await platforms.start()
        stack.push_async_callback(platforms.stop)
        await follower.start(client_options(settings))
        stack.push_async_callback(follower.stop)
        await offsets.start()
        stack.push_async_callback(offsets.stop)
        baseline = await offsets.totals()
        view = _Live(clock, board, platforms, started)
        await platforms.win(d.closed_won for d in book.deals)
        budget = wait_budget_s(options, clock)
        await _watch(view, offsets, baseline, budget, console if options.live else None)
        # Give the deals' other sagas (revenue, time and expense) a moment to finish too.
        grace_end = loop.time() + SETTLE_GRACE_S
        while loop.time() < grace_end and not _others_settled(board):
            await asyncio.sleep(TICK_S)
        final = await read_all_states(client_options(settings), names.state)
        totals = await offsets.totals()
        snapshot = platforms.snapshot()
        answered = engine.validator.answered
    deal_ids = {d.deal_id for d in book.deals}
    mine = {k: s for k, s in final.items() if k[1] in deal_ids}
    q2c = {k[1]: s for k, s in mine.items() if k[0] == DEAL_SAGA}
    unaccounted = sorted(
        d
        for d in deal_ids
        if d not in q2c or q2c[d].state not in {"completed", "cancelled", "exception"}
    )
    exceptions = {
        d: str(s.data.get("reason") or "unknown") for d, s in q2c.items() if s.state == "exception"
    }
    return DemoResult(
        book=book,
        final_states=mine,
        board=board,
        platforms=snapshot,
        invoices_by_deal={
            d: list(v) for d, v in platforms.billing_behaviour.invoices_by_deal.items()
        },
        escalations=len(platforms.crm_behaviour.escalations),
        validations_answered=answered,
        dlq_records=totals["dlq"] - baseline["dlq"],
        unaccounted=unaccounted,
        elapsed_s=loop.time() - started,
        bootstrap=str(client_options(settings)["bootstrap_servers"]),
        exceptions=exceptions,
    )


def _others_settled(board: SagaBoard) -> bool:
    """Every non-exception deal's other sagas are in a terminal state."""
    for deal_id in board.deal_ids:
        if board.state(DEAL_SAGA, deal_id) == "exception":
            continue
        for saga_type in SAGA_TYPES[1:]:
            state = board.state(saga_type, deal_id)
            if state is None or not SAGAS[saga_type].is_terminal(state):
                return False
    return True


async def _watch(
    view: _Live,
    offsets: _Offsets,
    baseline: dict[str, int],
    budget_s: float,
    console: Console | None,
) -> None:
    """Until every deal is settled or `budget_s` passed, refreshing the live view."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_s
    previous, previous_at = baseline, loop.time()
    live = Live(console=console, refresh_per_second=4, transient=False) if console else None
    with live or contextlib.nullcontext():
        while loop.time() < deadline:
            await asyncio.sleep(TICK_S)
            now = loop.time()
            totals = await offsets.totals()
            span = max(now - previous_at, 1e-3)
            view.rates = {g: (totals[g] - previous[g]) / span for g in ("events", "commands")}
            view.dlq = totals["dlq"] - baseline["dlq"]
            previous, previous_at = totals, now
            if live is not None:
                live.update(view.render(now))
            if not view.board.unsettled():
                return


# -- CLI --------------------------------------------------------------------------------------


def demo(
    deals: int = typer.Option(200, "--deals", min=1, help="how many deals to push through"),
    faults: bool = typer.Option(
        False, "--faults", help="inject latency, transient errors and a billing outage"
    ),
    seed: int = typer.Option(7, help="seed of the deal generator and the platforms"),
    time_scale: float = typer.Option(
        86_400.0, min=1.0, help="simulated seconds per real second (86400: one day per second)"
    ),
    bad_fraction: float = typer.Option(0.1, min=0.0, max=1.0, help="share of bad master data"),
    timeout: float | None = typer.Option(None, help="max real seconds to wait for the deals"),
) -> None:
    """Run the main job: a broker, the engine and simulated CRM/ERP/billing, N deals end to end."""
    logging.basicConfig(level=logging.WARNING)
    # aiokafka logs every transient coordinator hiccup at ERROR; the live view says enough.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    console = Console()
    cluster: LocalCluster | None = None
    try:
        if settings.bootstrap_servers is None:
            cluster, settings = _local_broker(settings, console)
        options = DemoOptions(
            deals=deals,
            seed=seed,
            time_scale=time_scale,
            faults=faults,
            bad_fraction=bad_fraction,
            max_wait_s=timeout,
        )
        result = asyncio.run(run_demo(settings, options, console=console))
        console.print(render_summary(result, settings))
    except KeyboardInterrupt:
        console.print("interrupted: everything the demo started was stopped")
        raise typer.Exit(130) from None
    finally:
        if cluster is not None:
            console.print(f"stopping the local broker {cluster.name!r}")
            cluster.stop()
    raise typer.Exit(result.exit_code)


def _local_broker(settings: Settings, console: Console) -> tuple[LocalCluster | None, Settings]:
    """Start the `demo` local broker; returns it only when this run started it (to stop it)."""
    existing = load_cluster("demo")
    already_running = existing is not None and bool(existing.running_nodes())
    console.print("starting a local Kafka broker ('demo') ...")
    cluster = start_cluster(1, name="demo")
    updated = load_settings(bootstrap_servers=cluster.bootstrap_servers)
    return (None if already_running else cluster), updated


__all__ = ["DemoOptions", "DemoResult", "demo", "render_summary", "run_demo"]
