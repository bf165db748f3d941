"""A system under test in its own child process: start, CPU and memory readings, stop by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil


class SystemProcess:
    """`python -m engine.bench.host <args>`; its output goes to `log_path`."""

    def __init__(self, args: list[str], log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._ps: psutil.Process | None = None
        self._peak_rss = 0

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("Q2C_BOOTSTRAP_SERVERS", None)  # the host gets the address on its command line
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "engine.bench.host", *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self._ps = psutil.Process(self._proc.pid)

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the process has used so far."""
        assert self._ps is not None
        times = self._ps.cpu_times()
        return float(times.user + times.system)

    def sample_rss(self) -> int:
        """Current RSS in bytes (and remember the peak seen)."""
        assert self._ps is not None
        with contextlib.suppress(psutil.Error):
            self._peak_rss = max(self._peak_rss, int(self._ps.memory_info().rss))
        return self._peak_rss

    def peak_rss(self) -> int:
        """Peak RSS: the kernel's high-water mark (VmHWM) where available, else the samples."""
        status = Path(f"/proc/{self.pid}/status")
        with contextlib.suppress(OSError, ValueError):
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return max(self._peak_rss, int(line.split()[1]) * 1024)
        return self.sample_rss()

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM (graceful: commit and leave the group), then SIGKILL after `timeout_s`."""
        if self._proc is None or self._proc.poll() is not None:
            return None if self._proc is None else self._proc.returncode
        self._proc.send_signal(signal.SIGTERM)
        try:
            return self._proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            return self._proc.wait(10.0)

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


class ProcessGroup:
    """Several `SystemProcess`es as one system: CPU and peak RSS summed, alive while all are."""

    def __init__(self, members: list[SystemProcess]) -> None:
        self.members = members

    def start(self) -> None:
        for m in self.members:
            m.start()

    def alive(self) -> bool:
        return all(m.alive() for m in self.members)

    def cpu_seconds(self) -> float:
        return sum(m.cpu_seconds() for m in self.members)

    def sample_rss(self) -> int:
        return sum(m.sample_rss() for m in self.members)

    def peak_rss(self) -> int:
        return sum(m.peak_rss() for m in self.members)

    def stop(self, timeout_s: float = 30.0) -> None:
        for m in self.members:
            m.stop(timeout_s)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(m.log_tail(lines) for m in self.members)
