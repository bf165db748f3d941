"""The demo's engine as `q2c run` worker processes, SIGKILLed and restarted on a schedule.

With `DemoOptions.worker_kills` the demo does not run its engine in its own process: it starts
one `q2c run` child on the demo's simulated clock (`Q2C_SIM_CLOCK`, so the worker's timers and
the simulated platforms agree on the time), and every `kill_every_s` it kills that worker with
SIGKILL mid-run and starts a new one. Whatever the dead worker had in an open transaction is
aborted and done again by the next one, and the platforms' connectors see commands again; the
demo's verdict (every deal where it should be, one effect per command) must not change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from enum import Enum
from pathlib import Path

from pydantic import SecretStr

from engine.chaos.workers import WorkerProcesses
from engine.kafka.connection import resolve_bootstrap
from engine.settings import Settings
from engine.simulators.clock import SimClock

log = logging.getLogger("q2c.demo")
READY_TIMEOUT_S = 120.0


def settings_env(settings: Settings) -> dict[str, str]:
    """`settings` as the `Q2C_*` environment of a child process, with the brokers resolved
    (a child must reach the same cluster, not look for a local one of its own)."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, Enum):
            value = value.value
        env[f"Q2C_{name.upper()}"] = str(value)
    env["Q2C_BOOTSTRAP_SERVERS"] = resolve_bootstrap(settings)
    return env


class WorkerChildren:
    """One live `q2c run` worker at a time, killed `kills` times, `every_s` apart."""

    def __init__(
        self, settings: Settings, clock: SimClock, log_dir: Path, *, kills: int, every_s: float
    ) -> None:
        env = {**os.environ, **settings_env(settings), "Q2C_SIM_CLOCK": clock.spec}
        self.procs = WorkerProcesses(env, log_dir, name="demo-w")
        self.clock = clock
        self.log_dir = log_dir
        self.kills = kills
        self.every_s = every_s
        self.killed = 0
        self.worker_id = ""

    @property
    def http_port(self) -> int | None:
        """The live worker's HTTP port (its status page and probes)."""
        return self.procs.ports.get(self.worker_id)

    async def start(self) -> None:
        """Start the first worker and wait until it has its partitions."""
        self.worker_id = self.procs.start_worker()
        await self.procs.wait_ready(self.worker_id, READY_TIMEOUT_S)

    async def kill_on_schedule(self) -> None:
        """SIGKILL the live worker every `every_s` seconds of the run (from when the simulated
        clock starts moving: before, there is no work to interrupt) and start the next one,
        `kills` times; runs until done or cancelled."""
        while self.clock() <= self.clock.start:  # bounded: the clock begins within seconds
            await asyncio.sleep(0.1)
        for _ in range(self.kills):
            await asyncio.sleep(self.every_s)
            await self.procs.kill_worker(self.worker_id)
            self.killed += 1
            log.info("demo: worker %s killed with SIGKILL; starting the next", self.worker_id)
            self.worker_id = self.procs.start_worker()
            await self.procs.wait_ready(self.worker_id, READY_TIMEOUT_S)

    async def stop(self) -> None:
        """SIGTERM the live worker (it commits and leaves), SIGKILL after a timeout."""
        with contextlib.suppress(KeyError):
            await self.procs.stop_all_workers()
