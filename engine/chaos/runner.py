"""`run_chaos`: a cluster and workers of its own, a paced workload, faults on schedule, a verdict.

Everything it touches it started: a local KRaft cluster (1 or 3 nodes) in a fresh directory,
`q2c run` worker children and its own publisher and observer. The deals are known histories
(engine.workload), so the broker-free reference run says exactly which final states and which
commands the engine owes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from engine.chaos.observer import CommandObserver
from engine.chaos.platforms import ChaosAdapters, policy_for
from engine.chaos.processes import OwnProcesses
from engine.chaos.scenarios import Action, Fault, Scenario, Target
from engine.chaos.verdict import FaultTiming, Verdict, judge, longest_gap
from engine.chaos.workload import Workload, build_workload
from engine.contracts import Event
from engine.dlq.reader import dlq_topics, read_dead_letters
from engine.kafka.client import Consumer
from engine.kafka.connection import KafkaConnection
from engine.localkafka import LocalCluster, start_cluster
from engine.publisher import Publisher
from engine.runtime.inspect import read_all_states
from engine.runtime.names import TARGETS, TopicNames
from engine.settings import Settings
from engine.topics import ensure_topics

log = logging.getLogger("q2c.chaos")
PUBLISH_RETRIES = 240  # per event, 0.5 s apart: two minutes of broker absence
Progress = Callable[[str], None]
MAX_RATE = 60.0


def paced_rate(events: int, scenario: Scenario) -> float:
    """Events per second so that publishing outlasts the scenario's outages: the engine is
    mid-stream when each fault hits and has work left when it ends (which is what makes the
    time to recover measurable)."""
    outages = sum(f.down_s for f in scenario.expand())
    return max(2.0, min(MAX_RATE, events / (1.5 * outages + 10.0)))


@dataclass(frozen=True)
class RunOptions:
    scenario: Scenario
    deals: int
    seed: int
    home: Path
    rate: float | None = None  # events per second published; None: `paced_rate`
    settle_timeout_s: float = 300.0


class ChaosRun:
    def __init__(self, opts: RunOptions, cluster: LocalCluster, progress: Progress) -> None:
        self.opts = opts
        self.cluster = cluster
        self.say = progress
        tag = uuid.uuid4().hex[:6]
        self.settings = Settings(
            bootstrap_servers=cluster.bootstrap_servers,
            topic_prefix=f"chaos{tag}.",
            group_id=f"chaos-{tag}",
        )
        self.rng = random.Random(opts.seed)
        self.published = 0
        self.rate = opts.rate or MAX_RATE
        env = {
            **os.environ,
            "Q2C_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
            "Q2C_TOPIC_PREFIX": self.settings.topic_prefix,
            "Q2C_GROUP_ID": self.settings.group_id,
        }
        self.procs = OwnProcesses(cluster, env, opts.home)
        # One connection for everything the run itself connects (its workers build their own).
        self.connection = KafkaConnection.from_settings(self.settings)
        self.observer = CommandObserver(self.settings, self.connection)
        # The platforms sit behind the real adapter pipeline only when a fault needs them.
        outages = [f.down_s for f in opts.scenario.faults if f.action is Action.PLATFORM_DOWN]
        self.adapters = (
            ChaosAdapters(self.settings, self.connection, policy_for(max(outages)))
            if outages
            else None
        )
        self.busiest_target = ""

    async def publish(self, events: tuple[Event, ...] | list[Event], paced: bool) -> None:
        """Publish in order; an event the broker did not take is retried (the sagas' event-id
        dedupe makes a retry that did land a no-op)."""
        async with Publisher(self.settings, connection=self.connection) as pub:
            for event in events:
                for attempt in range(PUBLISH_RETRIES):
                    try:
                        await pub.publish(event)
                        break
                    except Exception as exc:
                        if attempt == PUBLISH_RETRIES - 1:
                            raise
                        log.debug("publish retry: %s", type(exc).__name__)
                        await asyncio.sleep(0.5)
                if paced:
                    self.published += 1
                    await asyncio.sleep(1.0 / self.rate)

    async def wait_published(self, fraction: float, total: int) -> None:
        for _ in range(100_000):  # bounded by the trickle's own length
            if self.published >= fraction * total:
                return
            await asyncio.sleep(0.05)

    async def inject(self, fault: Fault) -> FaultTiming:
        started = time.monotonic()
        self.say(f"fault: {fault.label}")
        if fault.action is Action.KILL_WORKER:
            await self.procs.kill_worker(self.rng.choice(self.procs.live_workers()))
            await asyncio.sleep(fault.down_s)
            self.procs.start_worker()
        elif fault.action is Action.ADD_WORKER:
            self.procs.start_worker()
        elif fault.action is Action.REMOVE_WORKER:
            live = self.procs.live_workers()
            if len(live) > 1:
                await self.procs.stop_worker(self.rng.choice(live))
        elif fault.action is Action.PLATFORM_DOWN:
            assert self.adapters is not None
            platform = self.adapters.platforms[self.busiest_target]
            self.say(f"platform {platform.target} stops answering for {fault.down_s:g} s")
            platform.down = True
            await asyncio.sleep(fault.down_s)
            platform.down = False
        else:
            node = await self.broker_for(fault)
            if fault.action is Action.PAUSE_BROKER:
                self.procs.pause_broker(node)
                await asyncio.sleep(fault.down_s)
                self.procs.resume_broker(node)
            else:
                await self.procs.stop_broker(node, kill=fault.action is Action.KILL_BROKER)
                await asyncio.sleep(fault.down_s)
                await self.procs.start_broker(node)
        ended = time.monotonic()
        return FaultTiming(fault.label, started, ended, None, 0.0)

    async def broker_for(self, fault: Fault) -> int:
        running = sorted(self.cluster.running_nodes())
        if fault.node is not None:
            return fault.node
        if fault.target is Target.BUSIEST_LEADER:
            return await self.busiest_leader(running)
        if fault.target is Target.CONTROLLER:
            return active_controller(self.cluster, running)
        return self.rng.choice(running)

    async def busiest_leader(self, running: list[int]) -> int:
        names = TopicNames(self.settings.topic_prefix)
        consumer = Consumer(self.connection.options(), group_id=None)
        await consumer.start()
        try:
            leaders = await consumer.leaders([*(names.commands(t) for t in TARGETS), names.state])
        finally:
            await consumer.stop()
        counts = Counter(b for b in leaders.values() if b in running)
        return counts.most_common(1)[0][0] if counts else self.rng.choice(running)

    async def finished(
        self, workload: Workload, expected: dict[tuple[str, str], str]
    ) -> dict[tuple[str, str], str]:
        """Poll the changelog (bounded) until every saga reached its reference state."""
        deadline = time.monotonic() + self.opts.settle_timeout_s
        options = self.connection.options()
        state_topic = TopicNames(self.settings.topic_prefix).state
        final: dict[tuple[str, str], str] = {}
        while time.monotonic() < deadline:
            final = {k: s.state for k, s in (await read_all_states(options, state_topic)).items()}
            if final == expected:
                break
            await asyncio.sleep(3.0)
        return final


def active_controller(cluster: LocalCluster, running: list[int]) -> int:
    """The node whose KRaft log last says it became the quorum's leader (an active
    controller); the first running node when no log says so yet."""
    leader_re = re.compile(r"\[RaftManager id=(\d+)\] Completed transition to Leader\(")
    latest: tuple[str, int] | None = None
    for node in running:
        path = cluster.log_file(node)
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            match = leader_re.search(line)
            if match and int(match.group(1)) == node:
                stamp = line[:30]
                if latest is None or stamp > latest[0]:
                    latest = (stamp, node)
    return latest[1] if latest is not None else running[0]


async def run_chaos(opts: RunOptions, progress: Progress = lambda _: None) -> Verdict:
    """Run `opts.scenario` end to end and judge it; stops everything it started."""
    scenario = opts.scenario
    directory = opts.home / f"{scenario.name}-s{opts.seed}-{uuid.uuid4().hex[:6]}"
    directory.mkdir(parents=True)
    progress(f"starting a {scenario.brokers}-broker cluster in {directory}")
    cluster = await asyncio.to_thread(start_cluster, scenario.brokers, name="chaos", home=directory)
    run = ChaosRun(replace(opts, home=directory), cluster, progress)
    try:
        await ensure_topics(run.settings)
        workload = build_workload(opts.deals, opts.seed, datetime.now(UTC))
        reference = workload.reference(datetime.now(UTC))
        await run.publish(workload.master, paced=False)
        started = [run.procs.start_worker() for _ in range(scenario.workers)]
        for worker_id in started:  # the faults hit a running engine, not one starting up
            await run.procs.wait_ready(worker_id)
        await run.observer.start()
        if run.adapters is not None:
            await run.adapters.start()
            # The outage hits the platform with the most commands to take.
            counts = Counter(c.TARGET for c in reference.commands)
            run.busiest_target = counts.most_common(1)[0][0]
        rate = opts.rate or paced_rate(len(workload.events), scenario)
        run.rate = rate
        progress(f"{len(workload.events)} events of {opts.deals} deals at {rate:.3g}/s")
        trickle = asyncio.create_task(run.publish(workload.events, paced=True))
        timings = []
        for fault in scenario.expand():
            await run.wait_published(fault.at, len(workload.events))
            timings.append(await run.inject(fault))
        await trickle
        expected = {k: s.state for k, s in reference.states.items()}
        progress("workload published; waiting for every saga to settle")
        final = await run.finished(workload, expected)
        expected_keys = {c.header.idempotency_key for c in reference.commands}
        await run.observer.settle(len(expected_keys), timeout_s=30)
        if run.adapters is not None:
            # Commands parked in the last retry tier come back after its delay.
            await run.adapters.settle(
                expected_keys, timeout_s=sum(t.delay_s for t in run.adapters.policy.tiers) + 60
            )
        letters = await read_dead_letters(
            run.connection.options(), dlq_topics(run.settings.topic_prefix)
        )
    finally:
        if run.adapters is not None:
            await run.adapters.stop()
        await run.observer.stop()
        await run.procs.stop_all_workers()
        await asyncio.to_thread(cluster.destroy)
    measured = []
    for fault, t in zip(scenario.expand(), timings, strict=True):
        # A platform's recovery shows in its effects; everything else in committed commands.
        if fault.action is Action.PLATFORM_DOWN and run.adapters is not None:
            arrivals = run.adapters.applied_at
        else:
            arrivals = run.observer.arrivals
        recovered = next((a for a in arrivals if a > t.ended_at), None)
        # Pauses count only while work was left: idle time after the last command is not one.
        end = recovered if recovered is not None else max([t.started_at, *arrivals])
        measured.append(
            FaultTiming(
                t.label,
                t.started_at,
                t.ended_at,
                recovered,
                longest_gap(arrivals, t.started_at, end),
            )
        )
    return judge(
        scenario=scenario.name,
        seed=opts.seed,
        deals=opts.deals,
        final=final,
        reference=expected,
        command_keys=run.observer.keys,
        expected_keys=expected_keys,
        dead_letter_causes=[d.errors.get("exception.class.name", "unknown") for d in letters],
        faults=tuple(measured),
        effects=None if run.adapters is None else run.adapters.effects,
        adapter_errors=[] if run.adapters is None else run.adapters.failed(),
        adapter_counts=None if run.adapters is None else run.adapters.counts(),
    )
