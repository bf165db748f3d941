"""The demo's flow: a broker's topics, the engine, simulated platforms and N deals to the end.

`run_demo` starts everything, wins the deals on the simulated clock once all is ready,
reports `Progress` to its observer every tick and returns a `DemoResult`; it renders
nothing (the CLI does). With `options.platforms` the simulated platforms speak their native
formats through the gateway and the commands go out through the outbound connectors to
local emulators of the platforms (`engine.simulators.native`).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from aiokafka.errors import GroupCoordinatorNotAvailableError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from engine.contracts import ClosedWon
from engine.kafka.connection import KafkaConnection
from engine.kafka.global_table import TopicFollower
from engine.kafka.groups import GroupBusyError, group_members
from engine.runtime.app import Engine
from engine.runtime.inspect import read_all_states
from engine.runtime.names import TopicNames
from engine.saga.model import SagaState
from engine.sagas import DEAL_SAGA, SAGAS
from engine.settings import Settings
from engine.simulators.billing import BillingBehaviour
from engine.simulators.board import SagaBoard
from engine.simulators.clock import SimClock
from engine.simulators.crm import CrmBehaviour
from engine.simulators.deals import DealBook, generate_deals
from engine.simulators.demo.observe import OffsetTotals, Progress, status_applier
from engine.simulators.demo.options import (
    SAGA_TYPES,
    DemoOptions,
    deal_config,
    demo_clock,
    sim_config,
    spread_wins,
    wait_budget_s,
)
from engine.simulators.demo.result import DemoResult
from engine.simulators.demo.workers import WorkerChildren
from engine.simulators.native import NativePlatforms, PlatformChoice
from engine.simulators.platforms import Platforms, PlatformsSnapshot
from engine.simulators.seed import seed_master_data
from engine.topics import ensure_topics

TICK_S = 0.5
# Time to let the other sagas of settled deals reach their end before the final read.
SETTLE_GRACE_S = 5.0
TERMINAL_DEAL_STATES = frozenset({"completed", "cancelled", "exception"})
WORKERS_START_S = 20.0  # a `q2c run` child is ready in about 5-10 s on 2 cores


class DemoObserver(Protocol):
    """Told where the run is; the CLI renders it, tests may ignore it."""

    def status_page(self, url: str, viewer_token: str | None) -> None:
        """The engine serves its status page at `url` while the demo runs."""
        ...

    def progress(self, progress: Progress) -> None:
        """Every tick until every deal is settled (the last one has `done`)."""
        ...


class SilentObserver:
    """Reports nothing."""

    def status_page(self, url: str, viewer_token: str | None) -> None:
        return None

    def progress(self, progress: Progress) -> None:
        return None


class DemoPlatforms(Protocol):
    """The simulated CRM, ERP/PSA and billing, canonical (`Platforms`) or native."""

    crm_behaviour: CrmBehaviour
    billing_behaviour: BillingBehaviour

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def schedule_wins(self, deals: Iterable[ClosedWon]) -> int: ...

    def snapshot(self) -> PlatformsSnapshot: ...


async def refuse_shared_group(settings: Settings, connection: KafkaConnection) -> None:
    """Raise GroupBusyError when workers are already in the demo's consumer group."""
    # A new broker has no group coordinator until its offsets topic exists: a few seconds.
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(GroupCoordinatorNotAvailableError),
        stop=stop_after_attempt(30),
        wait=wait_fixed(0.5),
        reraise=True,
    )
    members: int = await retrying(group_members, connection.options(), settings.group_id)
    if members:
        raise GroupBusyError(
            f"{members} q2c worker(s) already in group {settings.group_id!r} on this broker "
            "would split the demo's deals; stop them (`q2c run`), or give the demo its own "
            "group and topics: Q2C_GROUP_ID=q2c-demo Q2C_TOPIC_PREFIX=demo. q2c demo"
        )


async def run_demo(
    settings: Settings, options: DemoOptions, observer: DemoObserver | None = None
) -> DemoResult:
    """Run the whole demo against the broker in `settings`; stops all it started, always.

    The simulated clock stands still until the engine, the platforms and the observers are
    ready; deals are then won on that clock, so a slow start ages no deal.
    """
    observer = observer or SilentObserver()
    # Checked before anything starts: a bad choice or a missing tool is a one-line error.
    choice = PlatformChoice.parse(options.platforms) if options.platforms else None
    loop = asyncio.get_running_loop()
    started = loop.time()
    run_tag = f"r{uuid.uuid4().hex[:6]}-"  # keeps this run's ids apart from earlier runs
    connection = KafkaConnection.from_settings(settings)  # the demo process's one connection
    await refuse_shared_group(settings, connection)
    await ensure_topics(settings)
    names = TopicNames(settings.topic_prefix)
    clock = demo_clock(options)
    config = deal_config(options, run_tag)
    book = generate_deals(options.deals, seed=options.seed, start=clock.start.date(), config=config)
    await seed_master_data(settings, book)
    board = SagaBoard([d.deal_id for d in book.deals])
    follower = TopicFollower([names.status], status_applier(board))
    offsets = OffsetTotals(settings, connection)
    engine: Engine | None = None
    children: WorkerChildren | None = None
    if options.worker_kills:
        log_dir = options.worker_log_dir or Path(tempfile.mkdtemp(prefix="q2c-demo-workers-"))
        # The workers read the clock from the start, so it begins a little ahead and stands
        # still while they (and the platforms) start: no deal ages meanwhile.
        clock.begin(at=time.time() + WORKERS_START_S)
        children = WorkerChildren(
            settings, clock, log_dir, kills=options.worker_kills, every_s=options.kill_every_s
        )
    else:
        engine = Engine(settings, clock=clock, worker_id="demo-1", connection=connection)
    platforms: DemoPlatforms
    if choice is None:
        platforms = Platforms(settings, sim_config(options, run_tag, book), clock)
    else:
        platforms = NativePlatforms(settings, choice, sim_config(options, run_tag, book), clock)
    stack = contextlib.AsyncExitStack()
    async with stack:
        if children is not None:
            await children.start()
            stack.push_async_callback(children.stop)
            http_port = children.http_port
        else:
            assert engine is not None
            await engine.start()
            stack.push_async_callback(engine.stop)
            await engine.wait_ready()
            http_port = engine.http_port
        status_url = None
        if http_port is not None:
            status_url = f"http://{settings.http_host}:{http_port}/"
            observer.status_page(status_url, options.viewer_token)
        await platforms.start()
        stack.push_async_callback(platforms.stop)
        await follower.start(connection.options())
        stack.push_async_callback(follower.stop)
        await offsets.start()
        stack.push_async_callback(offsets.stop)
        baseline = await offsets.totals()
        clock.begin()
        platforms.schedule_wins(spread_wins(book, clock, options.win_spread_hours))
        budget = wait_budget_s(options, clock) + clock.real_seconds(
            timedelta(hours=options.win_spread_hours)
        )
        if children is not None:
            killer = asyncio.create_task(children.kill_on_schedule(), name="demo-worker-kills")
            stack.push_async_callback(_cancelled, killer)
        await _watch(platforms, clock, board, offsets, baseline, budget, started, observer)
        # Give the deals' other sagas (revenue, time and expense) a moment to finish too.
        grace_end = loop.time() + SETTLE_GRACE_S
        while loop.time() < grace_end and not _others_settled(board):
            await asyncio.sleep(TICK_S)
        if options.redeliver and isinstance(platforms, NativePlatforms):
            await platforms.redeliver()
        final = await read_all_states(connection.options(), names.state)
        totals = await offsets.totals()
        snapshot = platforms.snapshot()
        answered = engine.validator.answered if engine is not None else None
        stats = platforms.stats() if isinstance(platforms, NativePlatforms) else []
    deal_ids = {d.deal_id for d in book.deals}
    mine = {k: s for k, s in final.items() if k[1] in deal_ids}
    deals = {k[1]: s for k, s in mine.items() if k[0] == DEAL_SAGA}
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
        unaccounted=_unaccounted(book, deals),
        elapsed_s=loop.time() - started,
        bootstrap=connection.bootstrap_servers,
        exceptions={
            d: str(s.data.get("reason") or "unknown")
            for d, s in deals.items()
            if s.state == "exception"
        },
        activation_sla_hours=config.activation_sla_hours,
        status_url=status_url,
        platform_stats=stats,
        workers_killed=children.killed if children is not None else 0,
        worker_logs=children.log_dir if children is not None else None,
    )


async def _cancelled(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait for it; an error it ended with (a worker that never came back)
    is raised."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _unaccounted(book: DealBook, deals: dict[str, SagaState]) -> list[str]:
    """Deals whose deal saga is missing or not in a terminal state."""
    return sorted(
        d.deal_id
        for d in book.deals
        if d.deal_id not in deals or deals[d.deal_id].state not in TERMINAL_DEAL_STATES
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
    platforms: DemoPlatforms,
    clock: SimClock,
    board: SagaBoard,
    offsets: OffsetTotals,
    baseline: dict[str, int],
    budget_s: float,
    started: float,
    observer: DemoObserver,
) -> None:
    """Until every deal is settled or `budget_s` passed, a `Progress` every tick."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_s
    previous, previous_at = baseline, loop.time()
    while loop.time() < deadline:
        await asyncio.sleep(TICK_S)
        now = loop.time()
        totals = await offsets.totals()
        span = max(now - previous_at, 1e-3)
        snap = platforms.snapshot()
        done = not board.unsettled()
        observer.progress(
            Progress(
                sim_now=clock(),
                elapsed_s=now - started,
                board=board,
                rates={g: (totals[g] - previous[g]) / span for g in ("events", "commands")},
                dlq=totals["dlq"] - baseline["dlq"],
                down=tuple(name for name, out in snap.in_outage.items() if out),
                retries=sum(snap.transient_failures.values()),
                duplicates=snap.duplicates_total,
                done=done,
            )
        )
        previous, previous_at = totals, now
        if done:
            return
