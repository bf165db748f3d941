"""Reads of one saga through the API, audited in aggregate: who looked at which saga, how often.

A viewer may read a saga's detail, timeline or invoices as often as they like; each read only
bumps a counter (`SummaryLedger`), and once per interval one `sagas.read` audit record per
caller lists the sagas they read, by view and outcome, with counts. A reveal is audited on its
own before it is answered (`engine.security.reveal`); only one that found no saga is counted.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from engine.api.ledger import AuditWriter, Key, SummaryLedger
from engine.ops.audit import AuditAction, AuditRecord, new_action_id, now_utc

READ_ACTION: AuditAction = "sagas.read"
READ_AUDIT_INTERVAL_S = 60.0


def read_summary(counts: Counter[Key]) -> list[AuditRecord]:
    """One `sagas.read` record per caller: the sagas read, by view and outcome, with counts."""
    by_actor: dict[str, list[dict[str, Any]]] = {}
    for (actor, view, saga_key, outcome), n in sorted(counts.items()):
        by_actor.setdefault(actor, []).append(
            {"view": view, "saga_key": saga_key, "outcome": outcome, "count": n}
        )
    at = now_utc()
    return [
        AuditRecord(
            action=READ_ACTION,
            action_id=new_action_id("sagas-read"),
            by=actor,
            at=at,
            target="api",
            count=sum(r["count"] for r in reads),
            details={"reads": reads},
            outcome="done",
            via="api",
        )
        for actor, reads in by_actor.items()
    ]


class ReadLedger(SummaryLedger):
    """Counts saga reads by caller, view, saga and outcome; audits them once per interval."""

    def __init__(self, write: AuditWriter, interval_s: float = READ_AUDIT_INTERVAL_S) -> None:
        super().__init__(write, interval_s, read_summary, name="q2c-saga-reads")

    def read(self, actor: str, view: str, saga_key: str, outcome: str = "done") -> None:
        """Record one read (`actor`: role and token fingerprint, never the token)."""
        self.count((actor, view, saga_key, outcome))
