"""`run_soak`: a long steady load on one worker, periodic broker faults, readings every sample.

On a cluster and worker of its own (like `run_chaos`): first the worker's drain rate is
measured (a backlog published while no worker runs, then the time a fresh worker takes to
clear it), then deals are published at half that rate (or a given rate) for the soak's
length. After warm-up a broker fault (a SIGSTOP stall or a controlled restart, alternately)
is injected every `fault_every_s`. Every `sample_s` the worker's RSS and open file
descriptors (psutil), its consumer lag on the inbound topics and its throughput are read.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from engine.chaos.runner import ChaosRun, Progress, RunOptions
from engine.chaos.scenarios import Action, Fault, Scenario
from engine.chaos.soak_report import FaultWindow, Sample, SoakReport
from engine.chaos.workload import build_workload
from engine.contracts import Event
from engine.kafka.client import Consumer, KafkaError
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import TopicPartition
from engine.localkafka import start_cluster
from engine.publisher import Publisher
from engine.runtime.names import TopicNames
from engine.settings import Settings
from engine.topics import ensure_topics

LAG_POLL_S = 2.0
DRAIN_DEALS = 150  # the backlog whose clearing measures the drain rate
CHUNK_DEALS = 20  # the soak publishes deals in seeded chunks of this many
PUBLISH_TRIES = 240  # per event, 0.5 s apart: two minutes of broker absence


@dataclass(frozen=True)
class SoakOptions:
    minutes: float
    home: Path
    rate: float | None = None  # None: half the measured drain rate
    sample_s: float = 60.0
    fault_every_s: float = 300.0
    down_s: float = 15.0
    seed: int = 1
    # A steady state within the soak: finished sagas leave the worker after this long (the
    # engine keeps them for ever by default), and the deals are for a fixed set of customers
    # (a firm's accounts do not grow with every deal; the master-data table holds them all).
    finished_retention_s: float = 60.0
    accounts: int = 200


class LagMeter:
    """The worker group's committed offsets against the inbound topics' ends."""

    def __init__(self, settings: Settings, connection: KafkaConnection) -> None:
        self.settings = settings
        self.connection = connection
        self.inbound = set(TopicNames(settings.topic_prefix).inbound)

    async def read(self) -> Offsets:
        """The group's committed offsets and the ends of the inbound topics; KafkaError when
        unreachable."""
        options = self.connection.options()
        admin = AIOKafkaAdminClient(**options)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(self.settings.group_id)
        finally:
            await admin.close()
        committed = {
            TopicPartition(tp.topic, tp.partition): meta.offset
            for tp, meta in offsets.items()
            if tp.topic in self.inbound and meta.offset >= 0
        }
        consumer = Consumer(options, group_id=None)
        await consumer.start()
        try:
            ends = await consumer.end_offsets(list(committed))
            parts = [
                TopicPartition(t, p)
                for t in sorted(self.inbound)
                for p in sorted(await consumer.partitions_for(t))
            ]
            # A partition the group never committed still owes everything on it.
            ends.update(await consumer.end_offsets([p for p in parts if p not in committed]))
        finally:
            await consumer.stop()
        return Offsets(time.monotonic(), committed, ends)


@dataclass(frozen=True)
class Offsets:
    """One reading of the worker group's progress on the inbound topics."""

    taken_at: float  # monotonic
    committed: dict[TopicPartition, int]
    ends: dict[TopicPartition, int]

    @property
    def lag(self) -> int:
        return sum(end - self.committed.get(tp, 0) for tp, end in self.ends.items())

    @property
    def committed_total(self) -> int:
        return sum(self.committed.values())

    def caught_up_with(self, ends: dict[TopicPartition, int]) -> bool:
        """Whether everything up to `ends` (an earlier reading's) is committed."""
        return all(self.committed.get(tp, 0) >= end for tp, end in ends.items())


class _Soak:
    def __init__(self, opts: SoakOptions, run: ChaosRun, say: Progress) -> None:
        self.opts = opts
        self.run = run
        self.say = say
        self.meter = LagMeter(run.settings, run.connection)
        self.published = 0
        self.offsets: Offsets | None = None  # the latest reading (None: broker unreachable)
        self.committed = 0
        self.started = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.started

    async def publish_one(self, pub: Publisher, event: Event) -> None:
        for attempt in range(PUBLISH_TRIES):
            try:
                await pub.publish(event)
                return
            except Exception:
                if attempt == PUBLISH_TRIES - 1:
                    raise
                await asyncio.sleep(0.5)

    async def publish_paced(self, events: list[Event], rate: float, until: float) -> None:
        """Publish `events` at `rate` per second (in one-second bursts) until `until`."""
        async with Publisher(self.run.settings, connection=self.run.connection) as pub:
            start = time.monotonic()
            sent = 0
            while sent < len(events) and self.now() < until:
                due = min(len(events), int((time.monotonic() - start) * rate) + 1)
                batch, sent = events[sent:due], due
                await asyncio.gather(*(self.publish_one(pub, e) for e in batch))
                self.published += len(batch)
                await asyncio.sleep(max(0.0, start + sent / rate - time.monotonic()))

    async def stream(self, rate: float, until: float) -> None:
        """Chunks of fresh deals (master data first), paced, until `until`."""
        chunk = 0
        while self.now() < until:
            chunk += 1
            work = build_workload(
                CHUNK_DEALS,
                self.opts.seed * 100_000 + chunk,
                _utcnow(),
                accounts=[self.customer(chunk * CHUNK_DEALS + i) for i in range(CHUNK_DEALS)],
            )
            async with Publisher(self.run.settings, connection=self.run.connection) as pub:
                await asyncio.gather(*(self.publish_one(pub, e) for e in work.master))
            await self.publish_paced(list(work.events), rate, until)

    def customer(self, deal_number: int) -> str:
        """The account of the soak's `deal_number`th deal: one of `accounts`, in turn."""
        return f"ACC-SOAK-{deal_number % self.opts.accounts:05d}"

    async def poll_lag(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                self.offsets = await self.meter.read()
                self.committed = self.offsets.committed_total
            except (KafkaError, OSError, TimeoutError):
                self.offsets = None  # the broker is away: unknown, not zero
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), LAG_POLL_S)

    async def measure_drain(self) -> float:
        """Events per second a fresh worker clears a backlog at."""
        work = build_workload(DRAIN_DEALS, self.opts.seed * 100_000, _utcnow())
        async with Publisher(self.run.settings, connection=self.run.connection) as pub:
            await asyncio.gather(*(self.publish_one(pub, e) for e in work.master))
            await asyncio.gather(*(self.publish_one(pub, e) for e in work.events))
        worker = self.run.procs.start_worker()
        await self.run.procs.wait_ready(worker)
        began = time.monotonic()
        deadline = began + 600
        while time.monotonic() < deadline:
            if (await self.meter.read()).lag == 0:
                break
            await asyncio.sleep(0.5)
        else:
            raise TimeoutError("the worker did not clear the drain backlog within 10 minutes")
        return (len(work.events) + len(work.master)) / max(time.monotonic() - began, 0.1)

    def worker_process(self) -> Any:
        import psutil  # the `bench` extra

        (worker,) = self.run.procs.live_workers()
        return psutil.Process(self.run.procs.workers[worker].pid)

    async def faults(self, until: float, warmup_s: float) -> list[FaultWindow]:
        """Broker faults every `fault_every_s` after warm-up, and the lag's way back to 0 after
        each: every record on the inbound topics when the broker first answered again is
        committed (a steady stream keeps a little lag in flight; the fault's backlog must go)."""
        windows: list[FaultWindow] = []
        kinds = (Action.PAUSE_BROKER, Action.STOP_BROKER)
        at = warmup_s
        while at + self.opts.down_s + 60 < until:
            await asyncio.sleep(max(0.0, at - self.now()))
            fault = Fault(kinds[len(windows) % 2], 0.0, self.opts.down_s)
            began = self.now()
            await self.run.inject(fault)
            ended = self.now()
            ended_mono = time.monotonic()
            next_at = at + self.opts.fault_every_s
            back = None
            backlog: dict[TopicPartition, int] | None = None
            while self.now() < min(next_at, until):
                now = self.offsets
                if now is not None and now.taken_at > ended_mono:
                    if backlog is None:
                        backlog = now.ends
                    elif now.caught_up_with(backlog):
                        back = now.taken_at - ended_mono
                        break
                await asyncio.sleep(0.5)
            windows.append(FaultWindow(fault.label, began, ended, back))
            self.say(f"{fault.label}: lag back to 0 after {back} s")
            at = next_at
        return windows

    async def sample(self, stop: asyncio.Event, samples: list[Sample]) -> None:
        proc = self.worker_process()
        last_t, last_committed, last_published = self.now(), self.committed, self.published
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.opts.sample_s)
            t = self.now()
            dt = max(t - last_t, 1e-6)
            s = Sample(
                at_s=round(t, 1),
                rss_mb=round(proc.memory_info().rss / 1e6, 1),
                open_fds=proc.num_fds(),
                lag=-1 if self.offsets is None else self.offsets.lag,
                processed_per_s=round(max(0, self.committed - last_committed) / dt, 1),
                published_per_s=round((self.published - last_published) / dt, 1),
            )
            samples.append(s)
            self.say(f"sample {s}")
            last_t, last_committed, last_published = t, self.committed, self.published


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def run_soak(opts: SoakOptions, progress: Progress = lambda _: None) -> SoakReport:
    """Run the soak and judge it; stops everything it started."""
    directory = opts.home / f"soak-{uuid.uuid4().hex[:6]}"
    directory.mkdir(parents=True)
    progress(f"starting a 1-broker cluster in {directory}")
    cluster = await asyncio.to_thread(start_cluster, 1, name="soak", home=directory)
    scenario = Scenario("soak", "steady load, periodic broker faults", 1, 1, faults=())
    run = ChaosRun(
        RunOptions(scenario=scenario, deals=0, seed=opts.seed, home=directory), cluster, progress
    )
    run.procs.env["Q2C_FINISHED_RETENTION_S"] = str(opts.finished_retention_s)
    stop = asyncio.Event()
    samples: list[Sample] = []
    try:
        await ensure_topics(run.settings)
        soak = _Soak(opts, run, progress)
        saturation = None
        if opts.rate is None:
            saturation = await soak.measure_drain()
            progress(f"measured drain rate {saturation:.0f} events/s")
        else:
            await run.procs.wait_ready(run.procs.start_worker())
        rate = opts.rate or max(1.0, saturation / 2 if saturation else 1.0)
        duration = opts.minutes * 60
        n_samples = max(1, int(duration // opts.sample_s))
        warmup = max(1, round(0.2 * n_samples))
        progress(f"soak: {opts.minutes:g} min at {rate:.0f} events/s, warm-up {warmup} sample(s)")
        soak.started = time.monotonic()
        lag_task = asyncio.create_task(soak.poll_lag(stop))
        sample_task = asyncio.create_task(soak.sample(stop, samples))
        stream = asyncio.create_task(soak.stream(rate, duration))
        faults = await soak.faults(duration, warmup * opts.sample_s)
        await stream
        await asyncio.sleep(max(0.0, duration - soak.now()))
        stop.set()
        await asyncio.gather(lag_task, sample_task)
    finally:
        stop.set()
        await run.procs.stop_all_workers()
        await asyncio.to_thread(cluster.destroy)
    return SoakReport(
        minutes=opts.minutes,
        rate=rate,
        saturation=saturation,
        warmup_samples=warmup,
        samples=tuple(samples),
        faults=tuple(faults),
        finished_retention_s=opts.finished_retention_s,
        accounts=opts.accounts,
    )


__all__ = ["SoakOptions", "run_soak"]
