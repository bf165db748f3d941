"""The verdict of a chaos run (pure): what the engine did against what it had to do."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.runtime.store import StoreKey
from engine.sagas import DEAL_SAGA


@dataclass(frozen=True)
class FaultTiming:
    """One injected fault: when it began and ended, and how the engine's output behaved."""

    label: str
    started_at: float
    ended_at: float
    # First committed command after the fault ended (None: nothing left to do by then).
    recovered_at: float | None
    # The longest stretch without a committed command from the fault's start to recovery.
    longest_pause_s: float

    @property
    def recover_s(self) -> float | None:
        return None if self.recovered_at is None else self.recovered_at - self.ended_at


@dataclass(frozen=True)
class Verdict:
    scenario: str
    seed: int
    deals: int
    completed: int
    in_exception: int
    cancelled: int
    unfinished: int
    commands_seen: int
    duplicate_keys: int
    lost_commands: int
    dead_letters: dict[str, int]
    faults: tuple[FaultTiming, ...]
    states_equal_reference: bool
    state_differences: list[str] = field(default_factory=list)
    # Effects on the target platforms, when the run put adapters in front of them (else None).
    effects_missing: int | None = None  # expected commands that never took effect
    duplicate_effects: int | None = None  # commands that took effect more than once
    adapter_errors: list[str] = field(default_factory=list)  # adapter loops that died
    adapter_counts: dict[str, int] = field(default_factory=dict)  # retries, waits, dead letters

    @property
    def passed(self) -> bool:
        return (
            self.duplicate_keys == 0
            and self.lost_commands == 0
            and self.unfinished == 0
            and self.states_equal_reference
            and not self.effects_missing
            and not self.duplicate_effects
            and not self.adapter_errors
        )

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["faults"] = [{**asdict(f), "recover_s": f.recover_s} for f in self.faults]
        out["passed"] = self.passed
        return out


def judge(
    *,
    scenario: str,
    seed: int,
    deals: int,
    final: dict[StoreKey, str],
    reference: dict[StoreKey, str],
    command_keys: list[str],
    expected_keys: set[str],
    dead_letter_causes: list[str],
    faults: tuple[FaultTiming, ...],
    effects: Counter[str] | None = None,
    adapter_errors: list[str] | None = None,
    adapter_counts: dict[str, int] | None = None,
) -> Verdict:
    """Compare the run's final saga states and commands with the reference run's."""
    q2c = Counter(state for (saga_type, _), state in final.items() if saga_type == DEAL_SAGA)
    seen = Counter(command_keys)
    differences = sorted(
        f"{t}/{k}: {final.get((t, k))} != {reference.get((t, k))}"
        for (t, k) in set(final) | set(reference)
        if final.get((t, k)) != reference.get((t, k))
    )
    settled = q2c["completed"] + q2c["exception"] + q2c["cancelled"]
    return Verdict(
        scenario=scenario,
        seed=seed,
        deals=deals,
        completed=q2c["completed"],
        in_exception=q2c["exception"],
        cancelled=q2c["cancelled"],
        unfinished=deals - settled,
        commands_seen=len(command_keys),
        duplicate_keys=sum(1 for n in seen.values() if n > 1),
        lost_commands=len(expected_keys - set(seen)),
        dead_letters=dict(sorted(Counter(dead_letter_causes).items())),
        faults=faults,
        states_equal_reference=not differences,
        state_differences=differences[:20],
        effects_missing=None if effects is None else len(expected_keys - set(effects)),
        duplicate_effects=None if effects is None else sum(1 for n in effects.values() if n > 1),
        adapter_errors=list(adapter_errors or []),
        adapter_counts=dict(adapter_counts or {}),
    )


def longest_gap(arrivals: list[float], start: float, end: float) -> float:
    """The longest time in [start, end] without an arrival (arrivals sorted ascending)."""
    points = [start, *(a for a in arrivals if start < a < end), end]
    return max((b - a for a, b in itertools.pairwise(points)), default=0.0)
