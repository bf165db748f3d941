"""Refused API calls: counted in a metric at once, audited as one summary per interval.

An attacker's flood must cost the worker nothing on Kafka: each refusal only bumps counters
in memory; a background loop writes at most one audit record per `interval_s` with the totals
since the last one (none when nothing was refused). The write is bounded in time and its
failure is logged; no request ever waits on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from prometheus_client import Counter as PromCounter

from engine.ops.audit import AuditRecord, refusal

log = logging.getLogger("q2c.api")
REFUSED = PromCounter(
    "q2c_api_refused_total",
    "API calls refused before they reached a route, by reason",
    ["reason"],
)
AUDIT_TIMEOUT_S = 5.0

AuditWriter = Callable[[AuditRecord], Awaitable[None]]


class RefusalLedger:
    """Counts refusals; writes a summary audit record at most once per `interval_s`."""

    def __init__(self, write: AuditWriter, interval_s: float) -> None:
        self._write = write
        self._interval = interval_s
        self._pending: Counter[tuple[str, str]] = Counter()
        self._task: asyncio.Task[None] | None = None
        self.summaries_written = 0

    def start(self) -> None:
        """Start the flushing loop (in the running event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="q2c-refusals")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    def refuse(self, reason: str, route: str) -> None:
        """Record one refusal (`route`: method and path template, never a caller's value)."""
        REFUSED.labels(reason).inc()
        self._pending[(reason, route)] += 1

    async def flush(self) -> None:
        """Write one audit record with the counts since the last flush (nothing if none)."""
        counts, self._pending = self._pending, Counter()
        if not counts:
            return
        record = refusal(
            "api.refused",
            by="unauthenticated",
            target="api",
            outcome="denied:summary",
            via="api",
            details={
                "total": sum(counts.values()),
                "counts": [
                    {"reason": reason, "route": route, "count": n}
                    for (reason, route), n in sorted(counts.items())
                ],
            },
        )
        try:
            await asyncio.wait_for(self._write(record), AUDIT_TIMEOUT_S)
            self.summaries_written += 1
        except Exception as exc:  # Kafka down: the metric still has the counts
            log.error("refusal summary not audited: %s", type(exc).__name__)

    async def close(self) -> None:
        """Stop the loop and write what is pending (bounded)."""
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()
