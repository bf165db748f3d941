"""Engine workers as child processes (`q2c run`), so tests can SIGKILL or SIGTERM them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from engine.settings import Settings


class WorkerProcess:
    """One `q2c run` child; always stopped by its pid."""

    def __init__(
        self,
        settings: Settings,
        worker_id: str,
        log_dir: Path,
        *,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        """`args`: more `q2c run` options; `env`: more environment variables."""
        environment = {
            **os.environ,
            "Q2C_BOOTSTRAP_SERVERS": settings.bootstrap_servers or "",
            "Q2C_TOPIC_PREFIX": settings.topic_prefix,
            "Q2C_GROUP_ID": settings.group_id,
            "Q2C_PROCESSING_MODE": settings.processing_mode.value,
            **(env or {}),
        }
        self.log_path = log_dir / f"{worker_id}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", "run", "--worker-id", worker_id, *args],
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        """Crash: no commit, no leave-group, open transaction left behind."""
        self._signal(signal.SIGKILL)

    def terminate(self, timeout_s: float = 30.0) -> int:
        """Graceful stop; returns the exit code (kills after `timeout_s`)."""
        self._signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            if sig == signal.SIGKILL:
                self.proc.wait(30)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            self._log.close()

    def pause(self) -> None:
        """Freeze the process (a GC pause or a stalled VM, seen from the cluster)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
