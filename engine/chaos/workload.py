"""The deals a chaos run pushes through the engine, and their broker-free reference (pure)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from engine.contracts import Event
from engine.workload.histories import HistoryOptions, deal_history, master_data, master_data_of
from engine.workload.reference import ReferenceRun, run_reference


@dataclass(frozen=True)
class Workload:
    deals: tuple[str, ...]
    master: tuple[Event, ...]
    events: tuple[Event, ...]  # in publishing order

    def reference(self, now: datetime) -> ReferenceRun:
        """What the engine must end with: the same history through the pure core alone."""
        return run_reference(list(self.events), list(self.master), now)


def build_workload(
    deals: int, seed: int, base_time: datetime, accounts: Sequence[str] | None = None
) -> Workload:
    """`deals` milestone deals (1-3 milestones, a third with uncorrelated replies), their
    events interleaved across deals by `seed` while each deal keeps its own order. With
    `accounts`, deal i is for customer `accounts[i % len(accounts)]` (a firm's customers do not
    grow with its deals); without, each deal has an account of its own."""
    rng = random.Random(seed)
    ids = [f"CH{seed}-{i:04d}" for i in range(deals)]
    customers = [accounts[i % len(accounts)] for i in range(deals)] if accounts else None
    histories = [
        deal_history(
            deal,
            HistoryOptions(
                milestones=rng.randint(1, 3),
                correlated_replies=rng.random() >= 1 / 3,
                base_time=base_time,
                account_id=customers[i] if customers else None,
            ),
        )
        for i, deal in enumerate(ids)
    ]
    # A seeded merge: pick a deal with events left, weighted by how many it has left.
    cursors = [0] * len(histories)
    remaining = [len(h) for h in histories]
    events: list[Event] = []
    total = sum(remaining)
    for _ in range(total):
        i = rng.choices(range(len(histories)), weights=remaining)[0]
        events.append(histories[i][cursors[i]])
        cursors[i] += 1
        remaining[i] -= 1
    master = master_data_of(customers) if customers else master_data(ids)
    return Workload(tuple(ids), tuple(master), tuple(events))
