"""Where the API's saga states come from: the worker's own stores, or the whole changelog."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Protocol

from engine.api.views import contribution
from engine.runtime.overview import OverviewTally, tally_of
from engine.runtime.store import StoreKey
from engine.runtime.worker import Worker
from engine.saga.model import EXCEPTION, SagaState

StateMap = dict[StoreKey, SagaState]
# Committed sagas by (saga type, state), and their stages reached and cycle times.
Tallies = tuple[Counter[tuple[str, str]], OverviewTally]


class StateSource(Protocol):
    """What the API reads: this worker's sagas now, and (slower) every saga in the cluster."""

    def readiness(self) -> tuple[bool, str | None]:
        """(ready, why not): partitions assigned, stores restored, Kafka reachable, every
        task committing."""
        ...

    def local(self) -> StateMap:
        """Committed states of the partitions this worker owns."""
        ...

    def local_tallies(self) -> Tallies:
        """What the overview shows of `local()`, from the stores' maintained tallies."""
        ...

    def local_exceptions(self) -> StateMap:
        """The sagas of `local()` in the exception state (from the stores' index)."""
        ...

    async def changelog(self) -> StateMap:
        """The latest committed state of every saga, read from the changelog topic."""
        ...


class WorkerStates:
    """A `StateSource` over a running `Worker` and a changelog reader."""

    def __init__(self, worker: Worker, read_changelog: Callable[[], Awaitable[StateMap]]) -> None:
        self._worker = worker
        self._read_changelog = read_changelog

    def readiness(self) -> tuple[bool, str | None]:
        return self._worker.readiness()

    def local(self) -> StateMap:
        # A snapshot: the worker keeps processing while the response is built. Committed
        # states only, so a reader never sees a state whose transaction may still abort.
        out: StateMap = {}
        for task in list(self._worker.tasks.values()):
            out.update(task.store.items())
        return out

    def local_tallies(self) -> Tallies:
        counts: Counter[tuple[str, str]] = Counter()
        tally = OverviewTally()
        for task in list(self._worker.tasks.values()):
            counts.update(task.store.state_counts())
            tally.merge(task.store.overview())
        return counts, tally

    def local_exceptions(self) -> StateMap:
        out: StateMap = {}
        for task in list(self._worker.tasks.values()):
            out.update(task.store.in_exception())
        return out

    async def changelog(self) -> StateMap:
        return await self._read_changelog()


class FixedStates:
    """A `StateSource` over a fixed map (tests, tooling over an exported snapshot)."""

    def __init__(self, states: StateMap, *, ready: bool = True) -> None:
        self.states = states
        self.ready = ready

    def readiness(self) -> tuple[bool, str | None]:
        return (True, None) if self.ready else (False, "starting")

    def local(self) -> StateMap:
        return dict(self.states)

    def local_tallies(self) -> Tallies:
        counts = Counter((t, s.state) for (t, _), s in self.states.items())
        return counts, tally_of(contribution(s) for s in self.states.values())

    def local_exceptions(self) -> StateMap:
        return {k: s for k, s in self.states.items() if s.state == EXCEPTION}

    async def changelog(self) -> StateMap:
        return dict(self.states)
