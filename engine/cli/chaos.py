"""`q2c chaos run SCENARIO` and `q2c chaos soak`: rehearse failure on a cluster of its own."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import typer
from rich.console import Console

from engine.chaos.runner import RunOptions, run_chaos
from engine.chaos.scenarios import SCENARIOS, scenario
from engine.chaos.soak import SoakOptions, run_soak
from engine.chaos.soak_report import fault_table, plot, soak_table
from engine.chaos.table import verdict_table
from engine.cli.stoppable import run_stoppable
from engine.observability.logging import configure_logging

HOME_OPTION = typer.Option(None, help="where the cluster and worker logs go (default: a temp dir)")
OUT_OPTION = typer.Option(Path("soak-out"), help="where soak.json and soak.png go")
app = typer.Typer(help="Fault injection: run a scenario, print the verdict.", no_args_is_help=True)


@app.command("list")
def list_scenarios() -> None:
    """The scenarios and their faults."""
    for s in SCENARIOS.values():
        faults = "; ".join(f.label for f in s.expand())
        typer.echo(f"{s.name:24} {s.brokers} broker(s), {s.workers} worker(s): {s.description}")
        typer.echo(f"{'':24} {faults}")


@app.command("run")
def run(
    name: str = typer.Argument(..., help="scenario (see `q2c chaos list`)"),
    deals: int = typer.Option(50, min=1, help="deals to push through"),
    seed: int = typer.Option(1, help="seeds the deals, their interleaving and fault targets"),
    rate: float | None = typer.Option(
        None, min=1.0, help="events published per second (default: publishing outlasts the faults)"
    ),
    down: float | None = typer.Option(None, min=0.0, help="override every outage's length (s)"),
    home: Path | None = HOME_OPTION,
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON"),
) -> None:
    """Start a local cluster and workers, publish the deals, inject the scenario's faults,
    then check: no lost or duplicate commands, final states equal the reference run.

    Faults only touch the processes this command started. Exit code 1 when a check fails.
    """
    try:
        chosen = scenario(name).with_down_s(down)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    configure_logging("WARNING", json_lines=False)
    # Leader moves while topics are created and brokers come and go are the point here.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    console = Console(stderr=as_json, width=max(110, Console().width))
    base = home or Path(tempfile.mkdtemp(prefix="q2c-chaos-"))
    opts = RunOptions(scenario=chosen, deals=deals, seed=seed, home=base, rate=rate)
    verdict = run_stoppable(
        run_chaos(opts, progress=lambda m: console.print(f"[dim]{m}[/]")), "the chaos run"
    )
    if as_json:
        typer.echo(json.dumps(verdict.as_json(), indent=2))
    else:
        console.print(verdict_table(verdict))
        console.print(f"[dim]worker logs: {base}[/]")
    if not verdict.passed:
        raise typer.Exit(1)


@app.command("soak")
def soak(
    minutes: float = typer.Option(30.0, min=0.5, help="how long the steady load runs"),
    rate: float | None = typer.Option(
        None, min=1.0, help="events per second (default: half the measured drain rate)"
    ),
    sample_s: float = typer.Option(60.0, min=5.0, help="seconds between readings"),
    fault_every_s: float = typer.Option(300.0, min=10.0, help="seconds between broker faults"),
    down: float = typer.Option(15.0, min=1.0, help="how long each fault lasts (s)"),
    seed: int = typer.Option(1, help="seeds the deals"),
    finished_retention: float = typer.Option(
        60.0,
        "--finished-retention-s",
        min=1.0,
        help="the worker's Q2C_FINISHED_RETENTION_S: finished sagas leave memory after this",
    ),
    accounts: int = typer.Option(
        200, min=1, help="customer accounts the deals are spread over (the master-data table)"
    ),
    out: Path = OUT_OPTION,
    home: Path | None = HOME_OPTION,
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON"),
) -> None:
    """A long steady load with a broker fault (stall or restart, alternately) every few
    minutes; every sample: the worker's RSS and open fds, consumer lag and throughput.

    Fails (exit 1) if RSS grows by more than 10% after warm-up (the first fifth) or the lag
    does not return to 0 after a fault. Writes soak.json and soak.png under --out.
    """
    configure_logging("WARNING", json_lines=False)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    console = Console(stderr=as_json, width=max(110, Console().width))
    opts = SoakOptions(
        minutes=minutes,
        home=home or Path(tempfile.mkdtemp(prefix="q2c-soak-")),
        rate=rate,
        sample_s=sample_s,
        fault_every_s=fault_every_s,
        down_s=down,
        seed=seed,
        finished_retention_s=finished_retention,
        accounts=accounts,
    )
    report = run_stoppable(
        run_soak(opts, progress=lambda m: console.print(f"[dim]{m}[/]")), "the soak"
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.json").write_text(json.dumps(report.as_json(), indent=2))
    png = plot(report, out / "soak.png")
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        console.print(soak_table(report))
        console.print(fault_table(report))
        console.print(f"[dim]figures: {out / 'soak.json'}, plot: {png}[/]")
    if not report.passed:
        raise typer.Exit(1)
