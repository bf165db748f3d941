"""`q2c demo`: the CLI of the demo. The flow is `engine.simulators.demo.run_demo`; this
module parses the options, renders the live view and the summary, and starts and stops the
local broker when Q2C_BOOTSTRAP_SERVERS is not set.

`run_demo` here is the flow with the console renderer attached (what the command runs).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from engine.api.config import ApiSettings
from engine.cli.preflight import open_keyset
from engine.cli.stoppable import run_stoppable
from engine.localkafka import LocalCluster, load_cluster, start_cluster
from engine.sagas import DEAL_SAGA
from engine.settings import Settings, load_settings
from engine.simulators.board import percentile
from engine.simulators.demo import SAGA_TYPES, DemoOptions, DemoResult, Progress
from engine.simulators.demo import run_demo as run_flow
from engine.simulators.native import PlatformChoice

DEMO_CLUSTER = "demo"
# Without a terminal (CI, a file) a plain progress line this often instead of the live view.
PROGRESS_EVERY_S = 5.0


# -- rendering ------------------------------------------------------------------------------


class ConsoleObserver:
    """Renders the run: a live table on a terminal, a plain progress line every few seconds
    otherwise; prints where the status page is."""

    def __init__(self, console: Console, *, live: bool = True) -> None:
        self.console = console
        self._live: Live | None = None
        if live and console.is_terminal:
            self._live = Live(console=console, refresh_per_second=4, transient=False)
        self._quiet = not live
        self._next_line = 0.0

    def status_page(self, url: str, viewer_token: str | None) -> None:
        self.console.print("Status page, while the demo runs:")
        self.console.print(f"  {url}", soft_wrap=True, markup=False, highlight=False)
        if viewer_token:
            self.console.print(f"  viewer token: {viewer_token}", markup=False, highlight=False)

    def progress(self, progress: Progress) -> None:
        if self._live is not None:
            if not self._live.is_started:
                self._live.start()
            self._live.update(render_progress(progress))
            if progress.done:
                self._live.stop()
        elif not self._quiet and (progress.elapsed_s >= self._next_line or progress.done):
            self.console.print(progress_line(progress), markup=False, highlight=False)
            self._next_line = progress.elapsed_s + PROGRESS_EVERY_S

    def close(self) -> None:
        """Stop the live view (the run ended before every deal settled, or failed)."""
        if self._live is not None and self._live.is_started:
            self._live.stop()


def progress_line(progress: Progress) -> str:
    """One plain line: where the run is (also the line printed without a terminal)."""
    board = progress.board
    counts = board.counts(DEAL_SAGA)
    settled = len(board.deal_ids) - len(board.unsettled())
    return (
        f"sim {progress.sim_now:%Y-%m-%d %H:%M}  real {progress.elapsed_s:4.0f}s  "
        f"settled {settled}/{len(board.deal_ids)}  "
        f"exceptions {counts.get('exception', 0)}  DLQ {progress.dlq}"
        + (f"  OUTAGE: {', '.join(progress.down)}" if progress.down else "")
    )


def render_progress(progress: Progress) -> Group:
    """The live view: sagas per state per saga type, the progress line, rates."""
    table = Table(title="q2c demo: sagas per state", expand=False)
    table.add_column("state")
    for saga_type in SAGA_TYPES:
        table.add_column(saga_type, justify="right")
    counts = {t: progress.board.counts(t) for t in SAGA_TYPES}
    states = sorted({s for c in counts.values() for s in c})
    for state in states:
        table.add_row(state, *(str(counts[t].get(state, 0) or "") for t in SAGA_TYPES))
    rates = Text(
        f"events/s {progress.rates.get('events', 0):6.1f}  "
        f"commands/s {progress.rates.get('commands', 0):6.1f}  "
        f"retries {progress.retries}  duplicates {progress.duplicates}"
    )
    return Group(table, Text(progress_line(progress)), rates)


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
    answered = result.validations_answered
    commands.add_row("masterdata", "validate (engine)", "-" if answered is None else str(answered))
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
        *worker_kill_lines(result),
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
    return Group(states, cycles, commands, exceptions, *platform_tables(result), *lines)


def worker_kill_lines(result: DemoResult) -> list[Text]:
    """With `--kill-workers`: how often the engine was killed, and where its logs are."""
    if result.worker_logs is None:
        return []
    return [
        Text(
            f"engine worker killed with SIGKILL {result.workers_killed} time(s) and restarted; "
            f"worker logs in {result.worker_logs}",
            style="bold",
        )
    ]


def platform_tables(result: DemoResult) -> list[Table | Text]:
    """With `--platforms`: what each platform saw over HTTP, and notes (none otherwise)."""
    if not result.platform_stats:
        return []
    table = Table(title="Platforms (both directions over HTTP)")
    for name in ("platform", "role", "requests", "effects", "dups prevented", "rate waits"):
        table.add_column(name, justify="left" if name in ("platform", "role") else "right")
    table.add_column("events in native / canonical", justify="right")
    notes: list[Table | Text] = []
    for row in result.platform_stats:
        table.add_row(
            row.platform,
            row.role,
            str(row.requests),
            str(row.effects),
            str(row.duplicates_prevented),
            str(row.rate_limit_waits),
            f"{row.native_events} / {row.canonical_events}",
        )
        if row.note:
            notes.append(Text(f"{row.platform}: {row.note}"))
        if row.repeated_creates:
            notes.append(
                Text(
                    f"{row.platform}: {row.repeated_creates} record(s) created more than once",
                    style="bold red",
                )
            )
    return [table, *notes]


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


# -- the flow, rendered ------------------------------------------------------------------


async def run_demo(
    settings: Settings, options: DemoOptions, *, console: Console | None = None
) -> DemoResult:
    """The demo's flow with this console rendering it (progress, status page)."""
    observer = ConsoleObserver(console or Console(), live=options.live)
    try:
        return await run_flow(settings, options, observer)
    finally:
        observer.close()


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
    platforms: str | None = typer.Option(
        None,
        "--platforms",
        help="one CRM (salesforce, dynamics), one ERP/PSA (netsuite, sap, oracle, certinia) "
        "and billing (stripe), e.g. salesforce,netsuite,stripe: native events through the "
        "gateway, commands through the connectors, against local emulators",
    ),
    kill_workers: int = typer.Option(
        0,
        "--kill-workers",
        min=0,
        help="run the engine as `q2c run` worker processes and kill the live one with SIGKILL "
        "this many times (every --kill-every seconds), restarting it: the verdict must not change",
    ),
    kill_every: float = typer.Option(
        10.0, "--kill-every", min=1.0, help="real seconds between --kill-workers kills"
    ),
    redeliver: bool = typer.Option(
        False,
        "--redeliver",
        help="with --platforms: at the end, deliver every command to its connector once more "
        "(a replay from the start); the platforms' effects must not change",
    ),
) -> None:
    """Run the main job: a broker, the engine and simulated CRM/ERP/billing, N deals end to end."""
    choice = _platform_choice(platforms, faults)
    logging.basicConfig(level=logging.ERROR)
    # aiokafka logs every transient coordinator hiccup at ERROR; the live view says enough.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    settings = load_settings()
    open_keyset()
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
            platforms=(choice.crm, choice.erp, choice.billing) if choice else None,
            worker_kills=kill_workers,
            kill_every_s=kill_every,
            redeliver=redeliver,
        )
        result = run_stoppable(run_demo(settings, options, console=console), "the demo")
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


def _platform_choice(platforms: str | None, faults: bool) -> PlatformChoice | None:
    """`--platforms` checked before anything starts (a usage error names the problem)."""
    if platforms is None:
        return None
    if faults:
        raise typer.BadParameter(
            "--faults is not available with --platforms "
            "(the emulators' own faults are not wired to the demo)",
            param_hint="--faults",
        )
    try:
        return PlatformChoice.parse(platforms)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--platforms") from None


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
