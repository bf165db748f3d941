"""`WorkerProcesses`: `q2c run` children a command started itself, and only those, by pid.

Every signal goes through `signal`, which refuses a pid the owner did not start: a chaos run
or a demo on a shared machine can never kill someone else's worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

STOP_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NotOurs(RuntimeError):
    """A fault was aimed at a process this run did not start."""


class WorkerProcesses:
    """Worker children (`q2c run`) started with `env`, each logging to `log_dir`."""

    def __init__(self, env: dict[str, str], log_dir: Path, name: str = "chaos-w") -> None:
        self.env = env
        self.log_dir = log_dir
        self.name = name
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}
        self._started = 0

    def owns(self, pid: int) -> bool:
        return any(p.pid == pid for p in self.workers.values())

    def signal(self, pid: int, sig: signal.Signals) -> None:
        """Send `sig` to `pid`, which must be one of this run's processes."""
        if not self.owns(pid):
            raise NotOurs(f"pid {pid} was not started by this run; refusing {sig.name}")
        os.kill(pid, sig)

    def start_worker(self) -> str:
        """Start `q2c run` with its HTTP probes on a free loopback port."""
        self._started += 1
        worker_id = f"{self.name}{self._started}"
        log = (self.log_dir / f"{worker_id}.log").open("ab")
        port = _free_port()
        self.ports[worker_id] = port
        self.workers[worker_id] = subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", "run", "--worker-id", worker_id],
            env={**self.env, "Q2C_HTTP_HOST": "127.0.0.1", "Q2C_HTTP_PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        return worker_id

    async def wait_ready(self, worker_id: str, timeout_s: float = 120.0) -> None:
        """Until the worker's /ready answers 200 (partitions assigned, stores restored)."""
        url = f"http://127.0.0.1:{self.ports[worker_id]}/ready"
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.workers[worker_id].poll() is not None:
                    raise RuntimeError(f"worker {worker_id} exited; see {self.log_dir}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code == 200:
                        return
                await asyncio.sleep(0.5)
        raise TimeoutError(f"worker {worker_id} not ready within {timeout_s:.0f} s")

    def live_workers(self) -> list[str]:
        return sorted(w for w, p in self.workers.items() if p.poll() is None)

    async def kill_worker(self, worker_id: str) -> None:
        proc = self.workers[worker_id]
        if proc.poll() is None:
            self.signal(proc.pid, signal.SIGKILL)
        await asyncio.to_thread(proc.wait, STOP_TIMEOUT_S)
        del self.workers[worker_id]

    async def stop_worker(self, worker_id: str) -> int:
        """Graceful (SIGTERM: finish the batch, commit, leave); SIGKILL after a timeout."""
        proc = self.workers[worker_id]
        if proc.poll() is None:
            self.signal(proc.pid, signal.SIGTERM)
        try:
            return await asyncio.to_thread(proc.wait, STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.signal(proc.pid, signal.SIGKILL)
            return await asyncio.to_thread(proc.wait, STOP_TIMEOUT_S)
        finally:
            self.workers.pop(worker_id, None)

    async def stop_all_workers(self) -> None:
        for worker_id in list(self.workers):
            await self.stop_worker(worker_id)
