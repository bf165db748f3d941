"""`q2c demo`: a broker, the engine and simulated platforms pushing deals through quote-to-cash.

`run_demo` is the flow (tests call it directly); `demo` is the CLI wrapper that also starts
and stops the local broker when Q2C_BOOTSTRAP_SERVERS is not set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import typer
from aiokafka.errors import GroupCoordinatorNotAvailableError
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_fixed,
)

from engine.api.config import ApiSettings
from engine.codec import DecodeError, decode_consumed
from engine.contracts import ClosedWon, SagaStatusChanged
from engine.kafka.client import Consumer
from engine.kafka.connection import client_options
from engine.kafka.global_table import TopicFollower
from engine.kafka.groups import GroupBusyError, group_members
from engine.kafka.records import InRecord, TopicPartition
from engine.localkafka import LocalCluster, load_cluster, start_cluster
from engine.runtime.app import Engine
from engine.runtime.inspect import read_all_states
from engine.runtime.names import TARGETS, TopicNames
from engine.saga.model import SagaState
from engine.sagas import DEAL_SAGA, SAGAS
from engine.settings import Settings, load_settings
from engine.simulators import (
    DealBook,
    DealConfig,
    ErpConfig,
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
DEMO_CLUSTER = "demo"
# Time to let the other sagas of settled deals reach their end before the final read.
SETTLE_GRACE_S = 5.0
# Without a terminal (CI, a file) a plain progress line this often instead of the live view.
PROGRESS_EVERY_S = 5.0
# Most projects activate within 2-36 simulated hours; one in ten waits for a project manager
# for 60-120 hours: the visible tail that breaches the 72 h activation SLA.
DEMO_ERP = ErpConfig(activation_hours=(2.0, 36.0), slow_fraction=0.1)


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
    # The deals are won one after another over the first simulated hours of the run.
    win_spread_hours: float = 12.0
    # Printed next to the status page's address (the token `demo` generated for it).
    viewer_token: str | None = None


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
    activation_sla_hours: int = 72
    status_url: str | None = None

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
        return SimConfig(seed=options.seed, id_prefix=id_prefix, erp=DEMO_ERP)
    crm, erp, billing = fault_config(options.outage_s)
    return SimConfig(
        seed=options.seed,
        id_prefix=id_prefix,
        erp=DEMO_ERP,
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
            model = decode_consumed(rec)
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

    def progress(self, now: float) -> str:
        """One plain line: where the run is (also the line printed without a terminal)."""
        counts = self.board.counts(DEAL_SAGA)
        settled = len(self.board.deal_ids) - len(self.board.unsettled())
        down = [name for name, out in self.platforms.snapshot().in_outage.items() if out]
        return (
            f"sim {self.clock():%Y-%m-%d %H:%M}  real {now - self.started:4.0f}s  "
            f"settled {settled}/{len(self.board.deal_ids)}  "
            f"exceptions {counts.get('exception', 0)}  DLQ {self.dlq}"
            + (f"  OUTAGE: {', '.join(down)}" if down else "")
        )

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
        rates = Text(
            f"events/s {self.rates.get('events', 0):6.1f}  "
            f"commands/s {self.rates.get('commands', 0):6.1f}  "
            f"retries {sum(snap.transient_failures.values())}  "
            f"duplicates {snap.duplicates_total}"
        )
        return Group(table, Text(self.progress(now)), rates)


def _hours(values: list[timedelta]) -> tuple[str, str]:
    hours = [v.total_seconds() / 3600 for v in values]
    return _fmt_hours(percentile(hours, 50)), _fmt_hours(percentile(hours, 95))


def _fmt_hours(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} h"


def final_state_rows(result: DemoResult) -> list[tuple[str, str, str, str]]:
    """(saga type, state, sagas, of which belong to deals in exception), sorted."""
    in_exception = set(result.exceptions)
    counted: Counter[tuple[str, str]] = Counter()
    of_exceptions: Counter[tuple[str, str]] = Counter()
    for (saga_type, key), state in result.final_states.items():
        counted[(saga_type, state.state)] += 1
        if key in in_exception and saga_type != DEAL_SAGA:
            of_exceptions[(saga_type, state.state)] += 1
    return [
        (t, s, str(n), str(of_exceptions[(t, s)] or ""))
        for (t, s), n in sorted(counted.items(), key=lambda kv: (SAGA_TYPES.index(kv[0][0]), kv))
    ]


def cycle_rows(result: DemoResult) -> list[tuple[str, str, str, str]]:
    """(from -> to, n, p50, p95) on the simulated clock."""
    activation = result.board.activation_times()
    invoicing = result.board.invoice_times()
    return [
        ("closed-won -> activated", str(len(activation)), *_hours(activation)),
        ("milestone -> invoice", str(len(invoicing)), *_hours(invoicing)),
    ]


def reconciliation(result: DemoResult) -> str:
    """deals in = completed + exceptions + cancelled + unaccounted, from the deal sagas."""
    states = Counter(s.state for (t, _k), s in result.final_states.items() if t == DEAL_SAGA)
    return (
        f"{len(result.book.deals)} deals in = {states.get('completed', 0)} completed"
        f" + {len(result.exceptions)} exceptions + {states.get('cancelled', 0)} cancelled"
        f" + {len(result.unaccounted)} unaccounted"
    )


def breach_line(result: DemoResult) -> str:
    """How many activated deals took longer than their activation SLA."""
    times = result.board.activation_times()
    sla = timedelta(hours=result.activation_sla_hours)
    late = sum(1 for t in times if t > sla)
    rate = f"{100 * late / len(times):.0f}%" if times else "-"
    return (
        f"activation SLA {result.activation_sla_hours} h: {len(times) - late} within, "
        f"{late} breached ({rate})"
    )


def q2c_command() -> str:
    """How to call `q2c` from the user's shell: by name when on PATH, else its full path."""
    if shutil.which("q2c"):
        return "q2c"
    beside = Path(sys.executable).with_name("q2c")
    return str(beside) if beside.exists() else f"{sys.executable} -m engine.cli.main"


def inspect_commands(result: DemoResult, settings: Settings) -> list[str]:
    """Shell lines that inspect this run's broker and data, runnable as printed."""
    example = next(iter(sorted(result.exceptions)), None) or next(
        (d.deal_id for d in result.book.deals), "<deal-id>"
    )
    q2c = q2c_command()
    lines = [f"export Q2C_BOOTSTRAP_SERVERS={result.bootstrap}"]
    if settings.topic_prefix:
        lines.append(f"export Q2C_TOPIC_PREFIX={settings.topic_prefix}")
    lines += [f"{q2c} sagas show {example}", f"{q2c} exceptions list", f"{q2c} dlq list"]
    return lines


def render_summary(result: DemoResult, settings: Settings) -> Group:
    """The end-of-run tables: final states, cycle times, commands, exceptions (the commands to
    inspect the run follow, from `print_summary`)."""
    states = Table(title="Sagas per final state")
    states.add_column("saga type")
    states.add_column("state")
    states.add_column("sagas", justify="right")
    states.add_column("of exception deals", justify="right")
    for row in final_state_rows(result):
        states.add_row(*row)

    cycles = Table(title="Cycle times (simulated clock)")
    cycles.add_column("from -> to")
    cycles.add_column("n", justify="right")
    cycles.add_column("p50", justify="right")
    cycles.add_column("p95", justify="right")
    for row in cycle_rows(result):
        cycles.add_row(*row)

    commands = Table(title="Commands handled per target")
    commands.add_column("target")
    commands.add_column("command")
    commands.add_column("handled", justify="right")
    commands.add_row("masterdata", "validate (engine)", str(result.validations_answered))
    snap = result.platforms
    for target, counter in snap.commands_by_target.items():
        for i, (command, n) in enumerate(sorted(counter.items())):
            commands.add_row(target if i == 0 else "", command, str(n))
    faults = [
        Text(
            f"{t}: {snap.duplicates_suppressed[t]} duplicates suppressed, "
            f"{snap.transient_failures[t]} transient failures, {snap.outage_seconds[t]:.0f}s down"
        )
        for t in snap.commands_by_target
        if snap.duplicates_suppressed[t] or snap.transient_failures[t] or snap.outage_seconds[t]
    ]

    exceptions = Table(title=f"Exceptions ({len(result.exceptions)})")
    exceptions.add_column("reason")
    exceptions.add_column("deals", justify="right")
    exceptions.add_column("example")
    by_reason: dict[str, list[str]] = {}
    for deal_id, reason in sorted(result.exceptions.items()):
        by_reason.setdefault(_reason_kind(deal_id, reason), []).append(deal_id)
    for reason, deals in sorted(by_reason.items()):
        exceptions.add_row(reason, str(len(deals)), deals[0])

    lines = [
        Text(breach_line(result)),
        *(faults or [Text("platform faults: none")]),
        Text(reconciliation(result), style="bold"),
        Text(
            "Sagas of deals in exception stop where their deal stopped: nothing is billed "
            "for them, so their time-and-expense saga completes empty and their "
            "milestone-to-revenue saga keeps tracking until the exception is resolved."
        ),
        Text(
            f"{len(result.book.deals)} deals in {result.elapsed_s:.0f}s; DLQ records "
            f"{result.dlq_records}; CRM escalations {result.escalations}; invoices "
            f"{sum(len(v) for v in result.invoices_by_deal.values())}"
        ),
        Text("Inspect afterwards:", style="bold"),
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


def print_summary(console: Console, result: DemoResult, settings: Settings) -> None:
    """The summary, then the inspect commands, each on one line even in a narrow terminal
    (soft-wrapped by the terminal, never broken by us, so a copied command still works)."""
    console.print(render_summary(result, settings))
    for line in inspect_commands(result, settings):
        console.print(f"  {line}", soft_wrap=True, markup=False, highlight=False)


def _reason_kind(deal_id: str, reason: str) -> str:
    """The reason without the ids in it, so equal causes group together."""
    words = [w for w in reason.split() if not any(ch.isdigit() for ch in w)]
    return " ".join(words) or reason


# -- the flow -------------------------------------------------------------------------------


def demo_clock(options: DemoOptions) -> SimClock:
    """A paused clock at 08:00 UTC today: it runs from `begin()`, once the engine is ready."""
    start = datetime.combine(datetime.now(UTC).date(), time(8), tzinfo=UTC)
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


async def refuse_shared_group(settings: Settings) -> None:
    """Raise GroupBusyError when workers are already in the demo's consumer group."""
    # A new broker has no group coordinator until its offsets topic exists: a few seconds.
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(GroupCoordinatorNotAvailableError),
        stop=stop_after_attempt(30),
        wait=wait_fixed(0.5),
        reraise=True,
    )
    members: int = await retrying(group_members, client_options(settings), settings.group_id)
    if members:
        raise GroupBusyError(
            f"{members} q2c worker(s) already in group {settings.group_id!r} on this broker "
            "would split the demo's deals; stop them (`q2c run`), or give the demo its own "
            "group and topics: Q2C_GROUP_ID=q2c-demo Q2C_TOPIC_PREFIX=demo. q2c demo"
        )


async def run_demo(
    settings: Settings, options: DemoOptions, *, console: Console | None = None
) -> DemoResult:
    """Run the whole demo against the broker in `settings`; stops all it started, always.

    The simulated clock stands still until the engine, the platforms and the observers are
    ready; deals are then won on that clock, so a slow start ages no deal.
    """
    console = console or Console()
    loop = asyncio.get_running_loop()
    started = loop.time()
    run_tag = f"r{uuid.uuid4().hex[:6]}-"  # keeps this run's ids apart from earlier runs
    await refuse_shared_group(settings)
    await ensure_topics(settings)
    names = TopicNames(settings.topic_prefix)
    clock = demo_clock(options)
    config = deal_config(options, run_tag)
    book = generate_deals(options.deals, seed=options.seed, start=clock.start.date(), config=config)
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
        status_url = _announce_status_page(engine, settings, options, console)
        await platforms.start()
        stack.push_async_callback(platforms.stop)
        await follower.start(client_options(settings))
        stack.push_async_callback(follower.stop)
        await offsets.start()
        stack.push_async_callback(offsets.stop)
        baseline = await offsets.totals()
        view = _Live(clock, board, platforms, started)
        clock.begin()
        platforms.schedule_wins(spread_wins(book, clock, options.win_spread_hours))
        budget = wait_budget_s(options, clock) + clock.real_seconds(
            timedelta(hours=options.win_spread_hours)
        )
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
        activation_sla_hours=config.activation_sla_hours,
        status_url=status_url,
    )


def _announce_status_page(
    engine: Engine, settings: Settings, options: DemoOptions, console: Console
) -> str | None:
    """Print where the status page is served while the demo runs; its URL (None: not served)."""
    if engine.http_port is None:
        return None
    url = f"http://{settings.http_host}:{engine.http_port}/"
    console.print("Status page, while the demo runs:")
    console.print(f"  {url}", soft_wrap=True, markup=False, highlight=False)
    if options.viewer_token:
        console.print(f"  viewer token: {options.viewer_token}", markup=False, highlight=False)
    return url


def demo_viewer_token() -> str | None:
    """A fresh viewer token for the status page, unless API tokens are configured (None).

    Set in this process's environment, where the engine's HTTP settings are read from.
    """
    api = ApiSettings()
    if api.viewer_tokens or api.operator_tokens:
        return None
    token = secrets.token_urlsafe(18)
    os.environ["Q2C_API_VIEWER_TOKENS"] = token
    return token


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
    """Until every deal is settled or `budget_s` passed: a live view on a terminal, plain
    progress lines every few seconds otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_s
    previous, previous_at = baseline, loop.time()
    live = None
    if console is not None and console.is_terminal:
        live = Live(console=console, refresh_per_second=4, transient=False)
    next_progress = loop.time() + PROGRESS_EVERY_S
    with live or contextlib.nullcontext():
        while loop.time() < deadline:
            await asyncio.sleep(TICK_S)
            now = loop.time()
            totals = await offsets.totals()
            span = max(now - previous_at, 1e-3)
            view.rates = {g: (totals[g] - previous[g]) / span for g in ("events", "commands")}
            view.dlq = totals["dlq"] - baseline["dlq"]
            previous, previous_at = totals, now
            done = not view.board.unsettled()
            if live is not None:
                live.update(view.render(now))
            elif console is not None and (now >= next_progress or done):
                console.print(view.progress(now), markup=False, highlight=False)
                next_progress = now + PROGRESS_EVERY_S
            if done:
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
    keep: bool = typer.Option(
        True,
        "--keep/--no-keep",
        help="leave the demo's local broker and its data running to inspect afterwards "
        "(stop it with `q2c kafka stop --name demo`)",
    ),
) -> None:
    """Run the main job: a broker, the engine and simulated CRM/ERP/billing, N deals end to end."""
    logging.basicConfig(level=logging.ERROR)
    # aiokafka logs every transient coordinator hiccup at ERROR; the live view says enough.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    settings = load_settings()
    console = Console()
    cluster: LocalCluster | None = None
    local = settings.bootstrap_servers is None
    try:
        if local:
            cluster, settings = _local_broker(settings, console)
        if "Q2C_HTTP_PORT" not in os.environ:
            # Any free port: a worker already on 8080 must not keep the page from being served.
            settings = settings.model_copy(update={"http_port": 0})
        options = DemoOptions(
            deals=deals,
            seed=seed,
            time_scale=time_scale,
            faults=faults,
            bad_fraction=bad_fraction,
            max_wait_s=timeout,
            viewer_token=demo_viewer_token(),
        )
        result = asyncio.run(run_demo(settings, options, console=console))
        print_summary(console, result, settings)
    except KeyboardInterrupt:
        console.print("interrupted: the engine and the simulated platforms were stopped")
        raise typer.Exit(130) from None
    finally:
        if cluster is not None and not keep:
            console.print(f"stopping the local broker {cluster.name!r}")
            cluster.stop()
    if local and (keep or cluster is None):
        console.print("The demo broker keeps its data and keeps running; stop it with:")
        console.print(f"  {stop_command()}", soft_wrap=True, markup=False, highlight=False)
    raise typer.Exit(result.exit_code)


def stop_command() -> str:
    """The command that stops the demo's local broker."""
    return f"{q2c_command()} kafka stop --name {DEMO_CLUSTER}"


def _local_broker(settings: Settings, console: Console) -> tuple[LocalCluster | None, Settings]:
    """Start the `demo` local broker; returns it only when this run started it (to stop it)."""
    existing = load_cluster(DEMO_CLUSTER)
    already_running = existing is not None and bool(existing.running_nodes())
    console.print(f"starting a local Kafka broker ({DEMO_CLUSTER!r}) ...")
    cluster = start_cluster(1, name=DEMO_CLUSTER)
    updated = load_settings(bootstrap_servers=cluster.bootstrap_servers)
    return (None if already_running else cluster), updated


__all__ = [
    "DemoOptions",
    "DemoResult",
    "demo",
    "inspect_commands",
    "print_summary",
    "render_summary",
    "run_demo",
]
