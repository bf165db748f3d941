"""The processes a chaos run started itself, and the only ones its faults may touch.

Every signal goes through `OwnProcesses.signal`, which refuses a pid this run did not start:
a chaos run against a shared machine can never kill someone else's broker or worker.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from engine.chaos.workers import NotOurs, WorkerProcesses
from engine.localkafka import LocalCluster

BROKER_READY_TIMEOUT_S = 300.0
__all__ = ["NotOurs", "OwnProcesses"]


class OwnProcesses(WorkerProcesses):
    """The run's cluster and worker children (`q2c run`), by pid."""

    def __init__(self, cluster: LocalCluster, env: dict[str, str], log_dir: Path) -> None:
        super().__init__(env, log_dir)
        self.cluster = cluster

    def broker_pids(self) -> dict[int, int]:
        return dict(self.cluster.pids)

    def owns(self, pid: int) -> bool:
        return pid in self.cluster.pids.values() or super().owns(pid)

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
        # A restarted node on a loaded machine can take minutes to rejoin (seen: the `all`
        # run's controller restart under a load of ~37 on 2 cores missed the 120 s default).
        await asyncio.to_thread(self.cluster.wait_ready, BROKER_READY_TIMEOUT_S)

    def pause_broker(self, node_id: int) -> None:
        self.signal(self._broker_pid(node_id), signal.SIGSTOP)

    def resume_broker(self, node_id: int) -> None:
        self.signal(self._broker_pid(node_id), signal.SIGCONT)
