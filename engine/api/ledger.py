"""Audit in aggregate: count occurrences in memory, write a few summary records per interval.

What a caller can repeat at will (a refused call, a read of a saga) must cost the worker
nothing on Kafka per request: each occurrence only bumps a counter; a background loop writes
the summaries of what was counted since the last write once per `interval_s` (nothing when
nothing happened), or sooner when `max_keys` distinct keys are pending (so one summary stays
a bounded size). The write is bounded in time and its failure is logged; no request ever
waits on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

from engine.ops.audit import AuditRecord

log = logging.getLogger("q2c.api")
AUDIT_TIMEOUT_S = 5.0
MAX_KEYS = 1_000

AuditWriter = Callable[[AuditRecord], Awaitable[None]]
Key = tuple[str, ...]
Summarize = Callable[[Counter[Key]], Sequence[AuditRecord]]


class SummaryLedger:
    """Counts keys; writes `summarize(counts)` at most once per `interval_s` (or when full)."""

    def __init__(
        self,
        write: AuditWriter,
        interval_s: float,
        summarize: Summarize,
        *,
        name: str,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self._write = write
        self._interval = interval_s
        self._summarize = summarize
        self._name = name
        self._max_keys = max_keys
        self._pending: Counter[Key] = Counter()
        self._full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.summaries_written = 0

    def start(self) -> None:
        """Start the flushing loop (in the running event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self._interval)
            await self.flush()

    def count(self, key: Key) -> None:
        """Record one occurrence of `key` (never a secret or a payload value)."""
        self._pending[key] += 1
        if len(self._pending) >= self._max_keys:
            self._full.set()

    async def flush(self) -> None:
        """Write the summaries of what was counted since the last flush (nothing if none)."""
        counts, self._pending = self._pending, Counter()
        self._full.clear()
        if not counts:
            return
        for record in self._summarize(counts):
            try:
                await asyncio.wait_for(self._write(record), AUDIT_TIMEOUT_S)
                self.summaries_written += 1
            except Exception as exc:  # Kafka down: the metrics still have the counts
                log.error("%s summary not audited: %s", record.action, type(exc).__name__)

    async def close(self) -> None:
        """Stop the loop and write what is pending (bounded)."""
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()
