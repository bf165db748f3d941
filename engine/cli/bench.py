"""`q2c bench`: the engine's throughput, latency, CPU and memory against its baselines."""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path

import typer
from rich.console import Console

from engine.cli.extras import require_extra
from engine.cli.stoppable import run_stoppable

OUT_OPTION = typer.Option(
    None, "--out", help="folder for bench.json and the load sweep's plot (sweep.png)"
)


def bench(
    quick: bool = typer.Option(False, "--quick", help="small N: finishes in about a minute"),
    as_json: bool = typer.Option(False, "--json", help="print the results as JSON only"),
    rate: float = typer.Option(200.0, help="the fixed offered load for latency, events/s"),
    profile: bool = typer.Option(
        False, "--profile", help="also profile the engine (pyinstrument) in an extra drain run"
    ),
    out: Path | None = OUT_OPTION,
) -> None:
    """Benchmark the engine against a raw aiokafka pipe and faust-streaming, in both modes.

    Uses Q2C_BOOTSTRAP_SERVERS when set; otherwise starts a local broker and stops it after.
    """
    # The bench's baselines and readings are the optional `bench` extra: imported only here.
    require_extra("bench", "bench", "psutil", "faust", *(("pyinstrument",) if profile else ()))
    from engine.bench.results import to_json
    from engine.bench.suite import external_bootstrap, run_bench
    from engine.bench.table import render

    logging.basicConfig(level=logging.ERROR)
    console = Console(stderr=True)
    began = time.monotonic()
    bootstrap = external_bootstrap()
    cluster = None
    if bootstrap is None:
        from engine.localkafka import start_cluster

        console.print("starting a local broker for the bench")
        cluster = start_cluster(1, name="bench")
        bootstrap = cluster.bootstrap_servers
    try:
        profile_path = (
            Path(tempfile.mkdtemp(prefix="q2c-prof-")) / "engine.json" if profile else None
        )
        result = run_stoppable(
            run_bench(
                bootstrap,
                quick=quick,
                fixed_rate_eps=rate,
                profile=profile_path,
                progress=lambda msg: console.print(
                    f"[dim]bench [{time.monotonic() - began:5.1f}s]: {msg}[/dim]"
                ),
            ),
            "the bench",
        )
    finally:
        if cluster is not None:
            cluster.destroy()
    if out is not None:
        from engine.bench.sweep import plot

        out.mkdir(parents=True, exist_ok=True)
        (out / "bench.json").write_text(json.dumps(to_json(result), indent=2))
        swept = {
            mode: {n: r.sweep for n, r in s.items() if r.sweep} for mode, s in result.modes.items()
        }
        plot(swept, out / "sweep.png")
        console.print(f"written: {out / 'bench.json'}, {out / 'sweep.png'}")
    if as_json:
        typer.echo(json.dumps(to_json(result), indent=2))
    else:
        render(result, Console(width=max(Console().width, 150)))
        if profile_path is not None:
            console.print(f"full profile: {profile_path.with_suffix('.txt')}")
