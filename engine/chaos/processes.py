"""The processes a chaos run started itself, and the only ones its faults may touch.

Every signal goes through `OwnProcesses.signal`, which refuses a pid this run did not start:
a chaos run against a shared machine can never kill someone else's broker or worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from engine.localkafka import LocalCluster

STOP_TIMEOUT_S = 30.0


class NotOurs(RuntimeError):
    """A fault was aimed at a process this run did not start."""


@dataclass
class OwnProcesses:
    """The run's cluster and worker children (`q2c run`), by pid."""

    cluster: LocalCluster
    env: dict[str, str]
    log_dir: Path
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _started: int = 0

    def broker_pids(self) -> dict[int, int]:
        return dict(self.cluster.pids)

    def owns(self, pid: int) -> bool:
        return pid in self.cluster.pids.values() or any(p.pid == pid for p in self.workers.values())

    def signal(self, pid: int, sig: signal.Signals) -> None:
        """Send `sig` to `pid`, which must be one of this run's processes."""
        if not self.owns(pid):
            raise NotOurs(f"pid {pid} was not started by this chaos run; refusing {sig.name}")
        os.kill(pid, sig)

    # -- workers ---------------------------------------------------------------------------

    def start_worker(self) -> str:
        self._started += 1
        worker_id = f"chaos-w{self._started}"
        log = (self.log_dir / f"{worker_id}.log").open("ab")
        self.workers[worker_id] = subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", "run", "--worker-id", worker_id, "--no-http"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        return worker_id

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

    # -- brokers ---------------------------------------------------------------------------

    def _broker_pid(self, node_id: int) -> int:
        pid = self.cluster.pids.get(node_id)
        if pid is None:
            raise NotOurs(f"broker node {node_id} is not running in this run's cluster")
        return pid

    async def stop_broker(self, node_id: int, *, kill: bool) -> None:
        self._broker_pid(node_id)  # refuses a node this run does not run
        await asyncio.to_thread(self.cluster.stop_node, node_id, kill=kill)

    async def start_broker(self, node_id: int) -> None:
        self.cluster.start_node(node_id)
        await asyncio.to_thread(self.cluster.wait_ready)

    def pause_broker(self, node_id: int) -> None:
        self.signal(self._broker_pid(node_id), signal.SIGSTOP)

    def resume_broker(self, node_id: int) -> None:
        self.signal(self._broker_pid(node_id), signal.SIGCONT)
