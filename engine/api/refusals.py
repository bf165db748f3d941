"""Refused API calls: counted in a metric at once, audited as one summary per interval.

An attacker's flood must cost the worker nothing on Kafka: each refusal only bumps counters
in memory; `SummaryLedger` writes at most one audit record per interval with the totals since
the last one (none when nothing was refused).
"""

from __future__ import annotations

from collections import Counter

from prometheus_client import Counter as PromCounter

from engine.api.ledger import AuditWriter, Key, SummaryLedger
from engine.ops.audit import AuditRecord, refusal

REFUSED = PromCounter(
    "q2c_api_refused_total",
    "API calls refused before they reached a route, by reason",
    ["reason"],
)


def refusal_summary(counts: Counter[Key]) -> list[AuditRecord]:
    """One `api.refused` record with the count per reason and route."""
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
    return [record]


class RefusalLedger(SummaryLedger):
    """Counts refusals (metric and summary); audits them once per `interval_s`."""

    def __init__(self, write: AuditWriter, interval_s: float) -> None:
        super().__init__(write, interval_s, refusal_summary, name="q2c-refusals")

    def refuse(self, reason: str, route: str) -> None:
        """Record one refusal (`route`: method and path template, never a caller's value)."""
        REFUSED.labels(reason).inc()
        self.count((reason, route))
