"""The target platforms of a chaos run, behind the real adapter pipeline, and their outages.

Each target (crm, erp, billing) gets a `CommandRunner` (retry tiers, dead letters, per-key
order) with a `CircuitBreaker` hold and a `MemoryDeduper`, exactly as a connector runs. The
platform behind it applies every call it answers and does no deduplication of its own, so a
command that reaches it twice shows up as a duplicate effect. While it is down it stops
answering: a call hangs until the runner's handler timeout, as a dead host does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.adapters import CommandRunner, MemoryDeduper, RetryPolicy, Tier
from engine.adapters.runner import Handler
from engine.connectors.outbound.circuit import CircuitBreaker
from engine.contracts import Command
from engine.kafka.connection import KafkaConnection
from engine.runtime.names import TARGETS
from engine.settings import Settings


def policy_for(outage_s: float) -> RetryPolicy:
    """The product's retry shape (3 attempts, a short tier, a long tier) scaled to the outage
    a run rehearses: the product's 1 and 10 minute tiers would make a 6 s outage take 10
    minutes to drain. Every attempt of a command, tiers included, spans about the outage plus
    30 s, so nothing is dead-lettered by an outage within the scenario's length."""
    return RetryPolicy(
        attempts=3,
        initial_backoff_s=0.2,
        max_backoff_s=2.0,
        handler_timeout_s=2.0,
        tiers=(
            Tier("retry-1m", min(60.0, max(5.0, outage_s / 4))),
            Tier("retry-10m", min(600.0, max(10.0, outage_s * 0.75))),
        ),
    )


CIRCUIT_THRESHOLD = 3
CIRCUIT_RESET_S = 3.0
UNANSWERED_S = 60.0  # a call to a down platform hangs this long (the handler times out first)


@dataclass
class Platform:
    """One simulated target platform: what it applied, and whether it answers."""

    target: str
    down: bool = False
    effects: Counter[str] = field(default_factory=Counter)  # idempotency key -> times applied
    applied_at: list[float] = field(default_factory=list)  # monotonic time of each effect

    async def call(self, command: Command) -> None:
        """Apply `command`, or hang (no answer) while the platform is down."""
        if self.down:
            await asyncio.sleep(UNANSWERED_S)
        self.effects[command.header.idempotency_key] += 1
        self.applied_at.append(time.monotonic())


class ChaosAdapters:
    """Every target's platform and adapter runner, run in the chaos process itself."""

    def __init__(
        self, settings: Settings, connection: KafkaConnection, policy: RetryPolicy
    ) -> None:
        self.policy = policy
        self.platforms = {t: Platform(t) for t in TARGETS}
        self.breakers = {t: CircuitBreaker(CIRCUIT_THRESHOLD, CIRCUIT_RESET_S) for t in TARGETS}
        self.runners = {
            t: CommandRunner(
                settings,
                t,
                self._handler(t),
                policy=policy,
                dedupe=MemoryDeduper(),
                hold=self._hold(t),
                connection=connection,
            )
            for t in TARGETS
        }
        self._tasks: list[asyncio.Task[None]] = []

    def _hold(self, target: str) -> Callable[[Any], float]:
        breaker = self.breakers[target]

        def hold(_command: Any) -> float:
            return 0.0 if breaker.allow() else max(breaker.remaining_s(), 0.1)

        return hold

    def _handler(self, target: str) -> Handler:
        platform, breaker = self.platforms[target], self.breakers[target]

        async def handle(command: Command) -> None:
            try:
                await platform.call(command)
            except BaseException:
                breaker.failure()
                raise
            breaker.success()

        return handle

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(r.run(), name=f"chaos-adapter-{t}") for t, r in self.runners.items()
        ]
        await asyncio.wait_for(asyncio.gather(*(r.ready.wait() for r in self.runners.values())), 60)

    async def stop(self) -> None:
        for runner in self.runners.values():
            runner.request_stop()
        for task in self._tasks:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 30)

    def failed(self) -> list[str]:
        """Runners that stopped by themselves (an error escaped the adapter loop)."""
        return [
            f"{t}: {task.exception()!r}"
            for t, task in zip(self.runners, self._tasks, strict=True)
            if task.done() and not task.cancelled() and task.exception() is not None
        ]

    def counts(self) -> dict[str, int]:
        """What the adapters did about failures, summed over targets (the outage's mark)."""
        runs = [r.counts for r in self.runners.values()]
        return {
            "attempts failed": sum(c.attempts - c.handled for c in runs),
            "waits on an open circuit": sum(c.held for c in runs),
            "moved to a retry tier": sum(c.retried + c.followed for c in runs),
            "dead-lettered": sum(c.dead_lettered for c in runs),
        }

    @property
    def effects(self) -> Counter[str]:
        return sum((p.effects for p in self.platforms.values()), Counter())

    @property
    def applied_at(self) -> list[float]:
        return sorted(t for p in self.platforms.values() for t in p.applied_at)

    async def settle(self, expected: set[str], timeout_s: float) -> None:
        """Wait (bounded) until every expected key took effect."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not expected <= set(self.effects):
            await asyncio.sleep(0.5)
