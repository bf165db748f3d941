"""Refused API calls: counted in a metric at once, audited as one summary per interval.

An attacker's flood must cost the worker nothing on Kafka: each refusal only bumps a counter
in memory; at most one audit record per `interval_s` carries the totals since the last one.
The audit write is bounded in time and its failure is logged, never waited on by a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
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

    def __init__(
        self,
        write: AuditWriter,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._interval = interval_s
        self._clock = clock
        self._pending: Counter[tuple[str, str]] = Counter()
        self._last_flush = clock()
        self._task: asyncio.Task[None] | None = None
        self.summaries_written = 0

    def refuse(self, reason: str, route: str) -> None:
        """Record one refusal (`route`: method and path template, never a caller's value)."""
        REFUSED.labels(reason).inc()
        self._pending[(reason, route)] += 1
        due = self._clock() - self._last_flush >= self._interval
        if due and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self.flush())

    async def flush(self) -> None:
        """Write one audit record with the counts since the last flush (nothing if none)."""
        self._last_flush = self._clock()
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
        """Write what is pending (bounded) and stop."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        await self.flush()
