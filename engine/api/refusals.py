"""Refused API calls: counted in a metric at once, audited as one summary per interval.

An attacker's flood must cost the worker nothing on Kafka: each refusal only bumps counters
in memory; `SummaryLedger` writes at most one audit record per interval with the totals since
the last one (none when nothing was refused).
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import Literal

from prometheus_client import Counter as PromCounter

from engine.api.ledger import AuditWriter, Key, SummaryLedger
from engine.ops.audit import AuditAction, AuditRecord, refusal

Surface = Literal["api", "gateway"]  # where callers are refused before reaching a route
REFUSED_ACTIONS: dict[Surface, AuditAction] = {"api": "api.refused", "gateway": "gateway.refused"}

REFUSED = PromCounter(
    "q2c_api_refused_total",
    "API calls refused before they reached a route, by reason",
    ["reason"],
)


def refusal_summary(counts: Counter[Key], *, surface: Surface = "api") -> list[AuditRecord]:
    """One `<surface>.refused` record with the count per reason and route."""
    record = refusal(
        REFUSED_ACTIONS[surface],
        by="unauthenticated",
        target=surface,
        outcome="denied:summary",
        via=surface,
        details={
            "total": sum(counts.values()),
            "counts": [
                {"reason": reason, "route": route, "count": n}
                for (reason, route), n in sorted(counts.items())
            ],
        },
    )
    return [record]


class RefusalLedger(SummaryLedger):
    """Counts refusals (the API's metric too); audits them once per `interval_s`.

    The worker's API and the webhook gateway (`surface`) share this convention: a flood of
    refused calls costs one audit record per interval, never one Kafka write per request.
    """

    def __init__(
        self,
        write: AuditWriter,
        interval_s: float,
        *,
        surface: Surface = "api",
        metric: PromCounter | None = REFUSED,
    ) -> None:
        """`metric`: counted by reason at once (None where the caller counts its own)."""
        summarize = partial(refusal_summary, surface=surface)
        super().__init__(write, interval_s, summarize, name=f"q2c-{surface}-refusals")
        self._metric = metric

    def refuse(self, reason: str, route: str) -> None:
        """Record one refusal (`route`: method and path template, never a caller's value)."""
        if self._metric is not None:
            self._metric.labels(reason).inc()
        self.count((reason, route))
