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
    PLATFORM_DOWN = "platform-down"  # a target platform stops answering for `down_s`


class Target(StrEnum):
    ANY = "any"  # a worker (or the only broker) chosen by the seed
    BUSIEST_LEADER = "busiest-leader"  # the broker leading most command/changelog partitions
    CONTROLLER = "controller"  # the active KRaft controller
    EACH = "each"  # every broker in turn (expanded by `expand`)
    BUSIEST_TARGET = "busiest-target"  # the platform (crm, erp, billing) owed most commands


BROKER_ACTIONS = frozenset({Action.STOP_BROKER, Action.KILL_BROKER, Action.PAUSE_BROKER})
BROKER_TARGETS = frozenset({Target.ANY, Target.BUSIEST_LEADER, Target.CONTROLLER, Target.EACH})


def targets_of(action: Action) -> frozenset[Target]:
    """The targets `action` can be aimed at."""
    if action in BROKER_ACTIONS:
        return BROKER_TARGETS
    if action is Action.PLATFORM_DOWN:
        return frozenset({Target.BUSIEST_TARGET})
    return frozenset({Target.ANY})


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
        allowed = targets_of(self.action)
        if self.target not in allowed:
            names = ", ".join(sorted(allowed))
            raise ValueError(f"{self.action}: target {self.target} is not one of {names}")

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


def _one_broker(name: str, description: str, *faults: Fault, workers: int = 1) -> Scenario:
    return Scenario(name, description, brokers=1, workers=workers, faults=faults)


def _three_brokers(name: str, description: str, *faults: Fault) -> Scenario:
    return Scenario(name, description, brokers=3, workers=2, faults=faults)


def mix(name: str, scenarios: tuple[Scenario, ...], start: float, end: float) -> Scenario:
    """One scenario with the first fault of each of `scenarios`, spread evenly over
    [start, end) of the workload, on the 3-broker cluster."""
    step = (end - start) / len(scenarios)
    faults = tuple(
        replace(s.faults[0], at=round(start + i * step, 4)) for i, s in enumerate(scenarios)
    )
    names = ", ".join(s.name for s in scenarios)
    return _three_brokers(name, f"a mix, one fault of each: {names}", *faults)


_SINGLE: tuple[Scenario, ...] = (
    _one_broker(
        "worker-kill",
        "SIGKILL a worker mid-stream (transactions open), start a new one",
        Fault(Action.KILL_WORKER, 0.25, 3),
        Fault(Action.KILL_WORKER, 0.6, 3),
        workers=2,
    ),
    _one_broker(
        "single-broker-restart",
        "the only broker is gone for 30 s (controlled shutdown), then back",
        Fault(Action.STOP_BROKER, 0.3, 30),
    ),
    _one_broker(
        "broker-pause",
        "SIGSTOP the only broker for 30 s: a network stall, connections hang",
        Fault(Action.PAUSE_BROKER, 0.3, 30),
    ),
    _one_broker(
        "rebalance-storm",
        "workers join and leave every few seconds",
        Fault(Action.ADD_WORKER, 0.15),
        Fault(Action.REMOVE_WORKER, 0.3),
        Fault(Action.ADD_WORKER, 0.45),
        Fault(Action.KILL_WORKER, 0.6, 2),
        Fault(Action.REMOVE_WORKER, 0.75),
        workers=2,
    ),
    _one_broker(
        "adapter-outage",
        "a target platform stops answering for 2 minutes; its commands wait (circuit breaker, "
        "retry tiers) and take effect once each after it returns",
        Fault(Action.PLATFORM_DOWN, 0.2, 120, Target.BUSIEST_TARGET),
    ),
    _three_brokers(
        "broker-kill",
        "3 brokers: SIGKILL the one leading most command and changelog partitions",
        Fault(Action.KILL_BROKER, 0.3, 20, Target.BUSIEST_LEADER),
    ),
    _three_brokers(
        "controller-kill",
        "3 brokers: SIGKILL the active KRaft controller",
        Fault(Action.KILL_BROKER, 0.3, 20, Target.CONTROLLER),
    ),
    _three_brokers(
        "rolling-restart",
        "3 brokers: each restarted in turn (controlled shutdown), as an upgrade does",
        Fault(Action.STOP_BROKER, 0.15, 5, Target.EACH),
    ),
)

SCENARIOS: dict[str, Scenario] = {
    s.name: s for s in (*_SINGLE, mix("all", _SINGLE, start=0.05, end=0.85))
}


def scenario(name: str) -> Scenario:
    """The scenario called `name`; ValueError listing the known ones otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        known = ", ".join(sorted(SCENARIOS))
        raise ValueError(f"unknown scenario {name!r}; known: {known}") from None
