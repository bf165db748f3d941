"""`SagaBoard`: what the saga status stream says about a set of deals (pure).

Folds SagaStatusChanged records into the latest state of every saga and the timestamps the
demo's cycle times are measured from (all on the simulated clock, as the events carry it).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from engine.contracts import SagaStatusChanged
from engine.sagas import DEAL_SAGA
from engine.sagas.common import milestone_of_reference

SETTLED_STATES = frozenset({"completed", "cancelled", "exception"})
_MILESTONE_DETAIL = re.compile(r"^milestone (?P<mid>\S+) completed")
_INVOICE_DETAIL = re.compile(r"^invoice \S+ issued \((?P<ref>[^)]+)\)")


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile `q` (0-100) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


class SagaBoard:
    """Latest state per saga and cycle-time marks, for the deals in `deal_ids` only."""

    def __init__(self, deal_ids: Collection[str]) -> None:
        self.deal_ids = frozenset(deal_ids)
        self.latest: dict[tuple[str, str], SagaStatusChanged] = {}
        self.transitions = 0
        self._won_at: dict[str, datetime] = {}
        self._activated_at: dict[str, datetime] = {}
        self._milestone_done: dict[tuple[str, str], datetime] = {}
        self._milestone_invoiced: dict[tuple[str, str], datetime] = {}

    def apply(self, status: SagaStatusChanged) -> None:
        """Fold one status record (records of other deals are ignored)."""
        key = status.saga_key
        if key not in self.deal_ids:
            return
        self.transitions += 1
        self.latest[(status.saga_type, key)] = status
        if status.saga_type != DEAL_SAGA:
            return
        cause, at = status.cause_event_type, status.occurred_at
        if cause == "closed-won":
            self._won_at.setdefault(key, at)
        elif cause == "project-activated":
            self._activated_at.setdefault(key, at)
        elif cause == "milestone-completed" and status.detail:
            match = _MILESTONE_DETAIL.match(status.detail)
            if match:
                self._milestone_done.setdefault((key, match["mid"]), at)
        elif cause == "invoice-issued" and status.detail:
            match = _INVOICE_DETAIL.match(status.detail)
            mid = milestone_of_reference(key, match["ref"]) if match else None
            if mid:
                self._milestone_invoiced.setdefault((key, mid), at)

    def state(self, saga_type: str, deal_id: str) -> str | None:
        status = self.latest.get((saga_type, deal_id))
        return status.to_state if status else None

    def counts(self, saga_type: str = DEAL_SAGA) -> Counter[str]:
        """How many sagas of a type are in each state (deals not seen yet count as `waiting`)."""
        counts: Counter[str] = Counter()
        for deal_id in self.deal_ids:
            counts[self.state(saga_type, deal_id) or "waiting"] += 1
        return counts

    def unsettled(self) -> list[str]:
        """Deals whose deal saga is neither finished nor in exception."""
        return sorted(d for d in self.deal_ids if self.state(DEAL_SAGA, d) not in SETTLED_STATES)

    def activation_times(self) -> list[timedelta]:
        """closed-won -> project-activated, per deal that got that far."""
        return list(self.activation_by_deal().values())

    def activation_by_deal(self) -> dict[str, timedelta]:
        """closed-won -> project-activated of each deal that got that far."""
        return {
            d: self._activated_at[d] - self._won_at[d]
            for d in sorted(self._activated_at)
            if d in self._won_at
        }

    def invoice_times(self) -> list[timedelta]:
        """milestone-completed -> its invoice-issued, per invoiced milestone."""
        return [
            at - self._milestone_done[k]
            for k, at in sorted(self._milestone_invoiced.items())
            if k in self._milestone_done
        ]
