"""Runs one simulated platform against Kafka: consume its commands, publish its events.

The command side is an ordinary adapter on the toolkit's `CommandRunner` (read_committed, its
own consumer group, offsets committed only after the events a command causes right away were
acknowledged), handling different deals concurrently and one deal's commands in order. A
redelivered command finds its idempotency key in the runner's `MemoryDeduper` and has no second
effect. The platform's injected faults are what a real platform's would be: a failed attempt
raises `TransientError` and the runner retries it (the retry policy follows the `FaultConfig`),
and an outage window holds every command until it ends. Events planned for later are kept in
memory and published when the simulated clock reaches them. A command `answers` declines (another
demo run's, see `SimConfig.answers`) is committed without effect and not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from engine.adapters import CommandRunner, MemoryDeduper, RetryPolicy, TransientError
from engine.contracts import Command, Event
from engine.kafka.client import KafkaError
from engine.publisher import Publisher
from engine.settings import Settings
from engine.simulators.behaviour import Behaviour
from engine.simulators.faults import FaultConfig, FaultSchedule
from engine.simulators.timeline import Timeline

log = logging.getLogger("q2c.simulators")
Clock = Callable[[], datetime]
TIMELINE_TICK_S = 0.05
KEY_CONCURRENCY = 64
STOP_TIMEOUT_S = 10.0


@dataclass
class RunnerCounters:
    """What one platform did so far."""

    commands_handled: Counter[str] = field(default_factory=Counter)
    events_published: Counter[str] = field(default_factory=Counter)
    transient_failures: int = 0

    @property
    def handled_total(self) -> int:
        return sum(self.commands_handled.values())


def retry_policy_for(faults: FaultConfig) -> RetryPolicy:
    """Enough in-process attempts, with the platform's own backoff, to outlast its faults.

    `FaultSchedule.fails` gives up failing after `max_consecutive_failures`, so one more
    attempt always succeeds and no simulated command reaches a retry tier.
    """
    base = faults.backoff_base_ms / 1000.0
    return RetryPolicy(
        attempts=faults.max_consecutive_failures + 1,
        initial_backoff_s=base,
        max_backoff_s=max(base, faults.backoff_cap_ms / 1000.0),
    )


class PlatformRunner:
    """One platform: a `CommandRunner` over its command topic, a publisher and a timeline."""

    def __init__(
        self,
        name: str,
        behaviour: Behaviour,
        settings: Settings,
        clock: Clock,
        *,
        faults: FaultConfig,
        rng: random.Random,
        answers: Callable[[Command], bool] = lambda _command: True,
    ) -> None:
        self.name = name
        self.answers = answers
        self.behaviour = behaviour
        self.settings = settings
        self.clock = clock
        self.faults = FaultSchedule(faults, rng)
        self.timeline = Timeline()
        self.counters = RunnerCounters()
        self.publisher, self.commands = self._clients(settings)
        # Failed attempts so far per idempotency key (what `FaultSchedule.fails` draws against).
        self._attempts: defaultdict[str, int] = defaultdict(int)
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._started_at: float | None = None

    def _clients(self, settings: Settings) -> tuple[Publisher, CommandRunner]:
        commands = CommandRunner(
            settings,
            self.behaviour.target,
            self._handle,
            policy=retry_policy_for(self.faults.config),
            dedupe=MemoryDeduper(),
            group_id=f"{settings.group_id}.sim-{self.name}",
            hold=self._outage_hold,
            key_concurrency=KEY_CONCURRENCY,
        )
        return Publisher(settings), commands

    def connect_as(self, settings: Settings) -> None:
        """Before `start`: connect with other settings (on a secured cluster, the platform's
        own adapter principal) for both the command runner and the publisher."""
        self.settings = settings
        self.publisher, self.commands = self._clients(settings)

    @property
    def duplicates_suppressed(self) -> int:
        return self.commands.counts.duplicates

    async def start(self) -> None:
        """Connect and start consuming (returns at once; work happens in background tasks)."""
        await self.publisher.start()
        self._tasks = [
            asyncio.create_task(self.commands.run(), name=f"sim-{self.name}-commands"),
            asyncio.create_task(self._publish_due(), name=f"sim-{self.name}-timeline"),
        ]

    async def stop(self) -> None:
        """Finish the command in hand, commit, leave the group, flush the publisher."""
        self._stopping.set()
        self.commands.request_stop()
        for task in self._tasks:
            done, _ = await asyncio.wait({task}, timeout=STOP_TIMEOUT_S)
            if not done:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.publisher.stop()

    async def publish(self, event: Event) -> None:
        """Publish one event through the adapter-facing Publisher and count it."""
        await self.publisher.publish(event)
        self.counters.events_published[event.envelope.event_type] += 1

    # -- outage --------------------------------------------------------------------------------

    def _elapsed_s(self) -> float:
        """Real seconds since the platform first had its partitions (0 until then), the
        moment it could start working: the outage window counts from there."""
        now = asyncio.get_running_loop().time()
        if self._started_at is None:
            if not self.commands.ready.is_set():
                return 0.0
            self._started_at = now
        return now - self._started_at

    def _outage_hold(self, _command: Command) -> float:
        """Seconds the platform stays down (the runner holds commands that long)."""
        return self.faults.outage_remaining_s(self._elapsed_s())

    @property
    def in_outage(self) -> bool:
        return self.faults.outage_remaining_s(self._elapsed_s()) > 0

    @property
    def outage_seconds(self) -> float:
        """How much of the outage window has passed so far."""
        config = self.faults.config
        if config.outage_start_s is None:
            return 0.0
        return max(0.0, min(self._elapsed_s() - config.outage_start_s, config.outage_duration_s))

    # -- commands ------------------------------------------------------------------------------

    async def _handle(self, command: Command) -> None:
        if not self.answers(command):
            return  # before any fault draw: another run's commands leave this run's draws alone
        key = command.header.idempotency_key
        await asyncio.sleep(self.faults.latency_s())
        if self.faults.fails(self._attempts[key]):
            self._attempts[key] += 1
            self.counters.transient_failures += 1
            raise TransientError(f"{self.name} unavailable (simulated)")
        self._attempts.pop(key, None)
        reaction = self.behaviour.handle(command, self.clock())
        try:
            await asyncio.gather(*(self.publish(event) for event in reaction.now))
        except KafkaError as exc:
            raise TransientError(f"events not delivered: {type(exc).__name__}") from exc
        for tag in reaction.cancel_tags:
            self.timeline.cancel(tag)
        for due, tag, event in reaction.later:
            self.timeline.schedule(due, tag, event)
        self.counters.commands_handled[command.header.command_type] += 1

    # -- planned events ------------------------------------------------------------------------

    async def _publish_due(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=TIMELINE_TICK_S)
            if self._stopping.is_set() or self.in_outage:
                continue
            now = self.clock()
            due = self.timeline.pop_due(now)
            results = await asyncio.gather(
                *(self.publish(event) for _, event in due), return_exceptions=True
            )
            for (tag, event), result in zip(due, results, strict=True):
                if isinstance(result, Exception):
                    # Kafka hiccup: keep the event and try again on the next tick.
                    log.warning("%s: publishing %s failed: %s", self.name, event.EVENT_TYPE, result)
                    self.timeline.schedule(now, tag, event)
