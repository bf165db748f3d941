"""`q2c simulate erp billing crm`: run simulated platforms against the configured broker.

For the README's by-hand walk: `q2c run` drives the sagas and the simulated platforms answer its
commands as the real ERP/PSA, billing and CRM systems would (the same code `q2c demo` runs).
The platforms' clock runs `--time-scale` times faster than real time, so a project that
activates after a day and an invoice paid within its terms play out in seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from enum import StrEnum
from typing import Annotated

import typer

from engine.cli.preflight import check_ready
from engine.settings import Settings, load_settings
from engine.simulators import Platforms, SimClock, SimConfig


class Platform(StrEnum):
    """The platforms q2c can simulate."""

    erp = "erp"
    billing = "billing"
    crm = "crm"


async def _serve(
    settings: Settings, chosen: set[str], time_scale: float, seed: int, stop_after: float | None
) -> None:
    platforms = Platforms(settings, SimConfig(seed=seed), SimClock(time_scale))
    runners = [r for r in platforms.runners if r.name in chosen]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = []
    try:
        for runner in runners:
            await runner.start()
            started.append(runner)
        names = ", ".join(r.name for r in runners)
        typer.echo(f"simulating {names} (x{time_scale:g} time); Ctrl-C or SIGTERM stops", err=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=stop_after)
    finally:
        await asyncio.gather(*(r.stop() for r in started), return_exceptions=True)
    for runner in started:
        handled = runner.counters.handled_total
        published = sum(runner.counters.events_published.values())
        typer.echo(f"{runner.name}: {handled} command(s) handled, {published} event(s)", err=True)


def simulate(
    platforms: Annotated[
        list[Platform], typer.Argument(help="which platforms to simulate: erp, billing, crm")
    ],
    time_scale: Annotated[
        float,
        typer.Option(min=1.0, help="simulated seconds per real second (86400: a day a second)"),
    ] = 86_400.0,
    seed: Annotated[int, typer.Option(help="seed of the platforms' random choices")] = 7,
    stop_after: Annotated[
        float | None, typer.Option("--for", min=0.1, help="stop after this many real seconds")
    ] = None,
) -> None:
    """Answer q2c's commands as the simulated platforms do, until Ctrl-C or SIGTERM."""
    settings = load_settings()
    check_ready(settings)
    chosen = {p.value for p in platforms}
    asyncio.run(_serve(settings, chosen, time_scale, seed, stop_after))
