"""The chaos scenarios as data (pure): which faults, on which process, when, for how long.

A fault fires when a fraction of the workload's events has been published (not after a number
of seconds), so a scenario hits the engine mid-stream on a fast machine and a slow one alike.
Adding a scenario is adding an entry to `SCENARIOS`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Action(StrEnum):
    KILL_WORKER = "kill-worker"  # SIGKILL a worker, start a new one after `down_s`
    ADD_WORKER = "add-worker"  # one more worker joins (a rebalance)
    REMOVE_WORKER = "remove-worker"  # a worker leaves gracefully (SIGTERM: commit, leave)
    STOP_BROKER = "stop-broker"  # SIGTERM (controlled shutdown), start again after `down_s`
    KILL_BROKER = "kill-broker"  # SIGKILL, start again after `down_s`
    PAUSE_BROKER = "pause-broker"  # SIGSTOP for `down_s`, then SIGCONT: a network stall


class Target(StrEnum):
    ANY = "any"  # a worker (or the only broker) chosen by the seed
    BUSIEST_LEADER = "busiest-leader"  # the broker leading most command/changelog partitions
    CONTROLLER = "controller"  # the active KRaft controller
    EACH = "each"  # every broker in turn (expanded by `expand`)


BROKER_ACTIONS = frozenset({Action.STOP_BROKER, Action.KILL_BROKER, Action.PAUSE_BROKER})


@dataclass(frozen=True)
class Fault:
    """One fault: `action` on `target` once `at` of the events are published."""

    action: Action
    at: float
    down_s: float = 0.0
    target: Target = Target.ANY
    node: int | None = None  # set by `expand` for Target.EACH

    def __post_init__(self) -> None:
        if not 0.0 <= self.at < 1.0:
            raise ValueError(f"{self.action}: `at` must be a fraction in [0, 1), got {self.at}")
        if self.down_s < 0:
            raise ValueError(f"{self.action}: down_s must not be negative")
        if self.target is not Target.ANY and self.action not in BROKER_ACTIONS:
            raise ValueError(f"{self.action}: only broker faults take target {self.target}")

    @property
    def label(self) -> str:
        where = f"node {self.node}" if self.node is not None else str(self.target)
        down = f" {self.down_s:g}s" if self.down_s else ""
        return f"{self.action} ({where}){down} @{self.at:.0%}"


@dataclass(frozen=True)
class Scenario:
    """A named set of faults and the cluster they need."""

    name: str
    description: str
    brokers: int
    workers: int
    faults: tuple[Fault, ...]

    def __post_init__(self) -> None:
        if self.brokers not in (1, 3):
            raise ValueError(f"{self.name}: the local cluster has 1 or 3 brokers")
        if self.workers < 1:
            raise ValueError(f"{self.name}: at least one worker")
        for fault in self.faults:
            needs_quorum = fault.target in (Target.BUSIEST_LEADER, Target.CONTROLLER, Target.EACH)
            if needs_quorum and self.brokers < 3:
                raise ValueError(f"{self.name}: {fault.target} needs the 3-broker cluster")
        ats = [f.at for f in self.faults]
        if ats != sorted(ats):
            raise ValueError(f"{self.name}: faults must be in the order they fire")

    def with_down_s(self, down_s: float | None) -> Scenario:
        """The same scenario with every outage lasting `down_s` (None: unchanged)."""
        if down_s is None:
            return self
        faults = tuple(replace(f, down_s=down_s) if f.down_s else f for f in self.faults)
        return replace(self, faults=faults)

    def expand(self) -> tuple[Fault, ...]:
        """The faults with Target.EACH turned into one fault per broker, spaced evenly."""
        out: list[Fault] = []
        for i, fault in enumerate(self.faults):
            if fault.target is not Target.EACH:
                out.append(fault)
                continue
            end = self.faults[i + 1].at if i + 1 < len(self.faults) else 0.9
            step = (end - fault.at) / self.brokers
            out += [
                replace(fault, target=Target.ANY, node=n + 1, at=round(fault.at + n * step, 4))
                for n in range(self.brokers)
            ]
        return tuple(out)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "worker-kill",
            "SIGKILL a worker mid-stream (transactions open), start a new one",
            brokers=1,
            workers=2,
            faults=(Fault(Action.KILL_WORKER, 0.25, 3), Fault(Action.KILL_WORKER, 0.6, 3)),
        ),
        Scenario(
            "single-broker-restart",
            "the only broker is gone for 30 s (controlled shutdown), then back",
            brokers=1,
            workers=1,
            faults=(Fault(Action.STOP_BROKER, 0.3, 30),),
        ),
        Scenario(
            "broker-pause",
            "SIGSTOP the only broker for 30 s: a network stall, connections hang",
            brokers=1,
            workers=1,
            faults=(Fault(Action.PAUSE_BROKER, 0.3, 30),),
        ),
        Scenario(
            "rebalance-storm",
            "workers join and leave every few seconds",
            brokers=1,
            workers=2,
            faults=(
                Fault(Action.ADD_WORKER, 0.15),
                Fault(Action.REMOVE_WORKER, 0.3),
                Fault(Action.ADD_WORKER, 0.45),
                Fault(Action.KILL_WORKER, 0.6, 2),
                Fault(Action.REMOVE_WORKER, 0.75),
            ),
        ),
        Scenario(
            "broker-kill",
            "3 brokers: SIGKILL the one leading most command and changelog partitions",
            brokers=3,
            workers=2,
            faults=(Fault(Action.KILL_BROKER, 0.3, 20, Target.BUSIEST_LEADER),),
        ),
        Scenario(
            "controller-kill",
            "3 brokers: SIGKILL the active KRaft controller",
            brokers=3,
            workers=2,
            faults=(Fault(Action.KILL_BROKER, 0.3, 20, Target.CONTROLLER),),
        ),
        Scenario(
            "rolling-restart",
            "3 brokers: each restarted in turn (controlled shutdown), as an upgrade does",
            brokers=3,
            workers=2,
            faults=(Fault(Action.STOP_BROKER, 0.15, 5, Target.EACH),),
        ),
    )
}


def scenario(name: str) -> Scenario:
    """The scenario called `name`; ValueError listing the known ones otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        known = ", ".join(sorted(SCENARIOS))
        raise ValueError(f"unknown scenario {name!r}; known: {known}") from None
