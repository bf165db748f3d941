"""Runs each system under test through the bench phases and collects its figures.

Per system and mode, on fresh topics: pre-publish warm-up + measured input, start the system's
process, time how fast it drains the measured part (committed group offsets; the warm-up is
excluded), then offer paced loads (the fixed rate, then the system's own measured capacity)
and measure end-to-end latency of the outputs.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from engine.bench.host import raw_output_topic
from engine.bench.kafka_io import committed_total, create_topics, publish_burst, publish_paced
from engine.bench.latency import LatencyCollector, causation_of, copied_event_id, latencies_ms
from engine.bench.process import ProcessGroup, SystemProcess
from engine.bench.results import (
    ENGINE,
    FANOUT,
    FANOUT_BASELINE,
    FAUST,
    RAW,
    RAW_TXN,
    SystemResult,
)
from engine.bench.stats import LatencySummary, summarize_latencies
from engine.bench.sweep import SATURATION_SHARE, SweepPoint, reachable, records_for
from engine.bench.workload import BenchRecord
from engine.runtime.names import TARGETS, TopicNames
from engine.settings import ProcessingMode, Settings
from engine.topics import ensure_topics

log = logging.getLogger("q2c.bench")
HOST_SYSTEM = {ENGINE: "engine", RAW: "raw", RAW_TXN: "raw_txn", FAUST: "faust", FANOUT: "fanout"}
RAW_PIPES = (RAW, RAW_TXN, FANOUT)
RAW_MIN_EVENTS = 20_000
MODE_TAG = {"exactly_once": "eos", "at_least_once": "alo"}


@dataclass(frozen=True)
class Workload:
    """The encoded records of each phase (identical bytes for every system)."""

    warmup: Sequence[BenchRecord]
    drain: Sequence[BenchRecord]
    fixed: Sequence[BenchRecord]
    saturation_pool: Sequence[BenchRecord]
    # Fresh records for the load sweep's points, taken in order (empty: no sweep).
    sweep_pool: Sequence[BenchRecord] = ()
    # Publish the drain only once the warm-up is processed. A large warm-up published with
    # the drain is still being read from its topics when the drain's records on the other
    # topics arrive: they would wait for sagas not yet opened, which is not the steady state
    # the cost-growth runs measure. (The timed drain then includes publishing it.)
    drain_after_warmup: bool = False


@dataclass(frozen=True)
class RunConfig:
    """Sizes, rates and bounds of one bench run."""

    bootstrap: str
    fixed_rate_eps: float
    phase_seconds: float
    drain_timeout_s: float
    sweep_seconds: float
    run_id: str
    workdir: Path
    profile_path: Path | None = None


class SystemRun:
    """One system in one mode: topics, process, phases."""

    def __init__(
        self,
        cfg: RunConfig,
        system: str,
        mode: str,
        *,
        tag: str = "",
        workers: int = 1,
        fanout: float = 1.0,
    ) -> None:
        """`workers` > 1: that many engine processes in one group (the scale-out run);
        `fanout`: the FANOUT pipe's copies per record."""
        self.cfg = cfg
        self.system = system
        self.mode = mode
        self.workers = workers
        self.fanout = fanout
        self.prefix = f"bench{cfg.run_id}.{MODE_TAG[mode]}.{HOST_SYSTEM[system]}{tag}."
        self.group = f"{self.prefix}group"
        self.names = TopicNames(self.prefix)
        self.options: dict[str, Any] = {"bootstrap_servers": cfg.bootstrap}

    # -- set-up ---------------------------------------------------------------------------------

    async def create_topics(self) -> None:
        if self.system == ENGINE:
            await ensure_topics(self.settings())
            return
        outputs = (
            [raw_output_topic(self.prefix)]
            if self.system in RAW_PIPES
            else [
                *(self.names.commands(t) for t in TARGETS),
                self.names.status,
                self.names.correlation,
            ]
        )
        await create_topics(self.options, [*self.names.inbound, *outputs])

    def settings(self) -> Settings:
        return Settings(
            bootstrap_servers=self.cfg.bootstrap,
            topic_prefix=self.prefix,
            group_id=self.group,
            processing_mode=ProcessingMode(self.mode),
        )

    def output_topics(self) -> tuple[list[str], Callable[..., str | None]]:
        if self.system in RAW_PIPES:
            return [raw_output_topic(self.prefix)], copied_event_id
        return [self.names.commands(t) for t in TARGETS], causation_of

    def process(self, profile: Path | None) -> ProcessGroup:
        return ProcessGroup([self._member(profile, i) for i in range(self.workers)])

    def _member(self, profile: Path | None, index: int) -> SystemProcess:
        # The fan-out pipe is the mode's raw pipe host, copying each record `fanout` times.
        host = HOST_SYSTEM[FANOUT_BASELINE[self.mode] if self.system == FANOUT else self.system]
        args = [
            host,
            "--bootstrap", self.cfg.bootstrap,
            "--prefix", self.prefix,
            "--group", self.group,
            "--mode", self.mode,
            "--out-prefix", self.prefix,
        ]  # fmt: skip
        if profile is not None:
            args += ["--profile", str(profile)]
        if self.workers > 1:
            args += ["--worker-id", f"bench-{index}"]
        if self.system == FANOUT:
            args += ["--fanout", f"{self.fanout:.4f}"]
        return SystemProcess(args, self.cfg.workdir / f"{self.prefix}{index}.log")

    def drain_records(self, work: Workload) -> Sequence[BenchRecord]:
        """The measured input; the raw pipes get it repeated up to RAW_MIN_EVENTS records.

        They drain thousands of records per 100 ms, so the engine-sized set would be over
        within one progress poll. Repeats cost them nothing extra (no decoding, no dedupe),
        and the rate is per record, so the figures stay comparable.
        """
        if self.system not in RAW_PIPES or not work.drain:
            return work.drain
        return list(work.drain) * max(1, -(-RAW_MIN_EVENTS // len(work.drain)))

    # -- phases ---------------------------------------------------------------------------------

    async def run(
        self,
        work: Workload,
        *,
        latency: bool = True,
        profile: Path | None = None,
        half_load_eps: float | None = None,
        sweep_rates: Sequence[float] = (),
    ) -> SystemResult:
        """Drain, then (with `latency`) the fixed load and `half_load_eps`: half the engine's
        measured saturation, the same offered load for every system of the mode (None: half of
        this system's own drain rate, which is what the engine, measured first, uses); then
        the load sweep's `sweep_rates` that this system can sustain."""
        result = SystemResult(self.system, self.mode)
        await self.create_topics()
        drain = self.drain_records(work)
        later = drain if work.drain_after_warmup else ()
        first = work.warmup if later else [*work.warmup, *drain]
        await publish_burst(self.options, self.prefix, first)
        proc = self.process(profile)
        admin = AIOKafkaAdminClient(**self.options)
        await admin.start()
        proc.start()
        try:
            await self._drain(proc, admin, len(work.warmup), len(drain), result, later)
            if latency:
                done = len(work.warmup) + len(drain)
                result.latency_fixed, done = await self._paced(
                    proc, admin, work.fixed, self.cfg.fixed_rate_eps, done
                )
                rate = half_load_eps or result.throughput_eps / 2
                count = min(len(work.saturation_pool), max(1, int(rate * self.cfg.phase_seconds)))
                result.latency_half_saturation, done = await self._paced(
                    proc, admin, work.saturation_pool[:count], rate, done
                )
                result.sweep = await self._sweep(
                    proc, admin, work.sweep_pool, sweep_rates, result.throughput_eps, done
                )
            result.peak_rss_mb = proc.peak_rss() / 2**20
        except Exception as exc:  # reported in the table and JSON, never hidden
            result.error = f"{type(exc).__name__}: {exc}"
            tail = proc.log_tail()
            if tail:
                result.error += f" | log: {tail.splitlines()[-1][:200]}"
            log.warning("%s/%s failed: %s\n%s", self.system, self.mode, exc, tail)
        finally:
            await admin.close()
            proc.stop()
        return result

    async def _wait_for(
        self, proc: ProcessGroup, admin: AIOKafkaAdminClient, target: int, timeout_s: float
    ) -> tuple[float, float, int]:
        """Poll until the group committed `target` records; returns (monotonic time, cpu s,
        records committed by then)."""
        topics = set(self.names.inbound)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"{self.system} process exited")
            done = await committed_total(admin, self.group, topics)
            if done >= target:
                return time.monotonic(), proc.cpu_seconds(), done
            proc.sample_rss()
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{self.system}: {target} records not processed in {timeout_s:.0f}s")

    async def _drain(
        self,
        proc: ProcessGroup,
        admin: AIOKafkaAdminClient,
        warmup: int,
        measured: int,
        result: SystemResult,
        publish_after_warmup: Sequence[BenchRecord] = (),
    ) -> None:
        t0, cpu0, done0 = await self._wait_for(proc, admin, warmup, self.cfg.drain_timeout_s)
        if publish_after_warmup:
            await publish_burst(self.options, self.prefix, publish_after_warmup)
        t1, cpu1, done1 = await self._wait_for(
            proc, admin, warmup + measured, self.cfg.drain_timeout_s
        )
        # Only what was committed between the two readings was timed: a system that got
        # past the warm-up before the first reading has done part of the drain already.
        timed = done1 - done0
        if timed < measured / 2:
            raise RuntimeError(
                f"{self.system} drained {measured - timed} of {measured} records before the "
                "first reading: too few to time (a full run measures more)"
            )
        result.events = timed
        result.throughput_eps = timed / max(t1 - t0, 1e-9)
        result.cpu_s_per_1k = (cpu1 - cpu0) / timed * 1000.0

    async def _paced(
        self,
        proc: ProcessGroup,
        admin: AIOKafkaAdminClient,
        records: Sequence[BenchRecord],
        rate: float,
        done_before: int,
    ) -> tuple[LatencySummary, int]:
        topics, event_id_of = self.output_topics()
        collector = LatencyCollector(self.options, topics, event_id_of)
        await collector.start()
        try:
            sent = await publish_paced(self.options, self.prefix, records, rate)
            done = done_before + len(records)
            await self._wait_for(proc, admin, done, self.cfg.drain_timeout_s)
            await asyncio.sleep(0.3)  # the collector's last poll after the final commit
        finally:
            await collector.stop()
        samples = latencies_ms(sent.sent_ms, collector.arrived_ms)
        return summarize_latencies(samples, sent.achieved_eps), done

    async def _sweep(
        self,
        proc: ProcessGroup,
        admin: AIOKafkaAdminClient,
        pool: Sequence[BenchRecord],
        rates: Sequence[float],
        saturation_eps: float,
        done: int,
    ) -> list[SweepPoint]:
        points: list[SweepPoint] = []
        sustainable = reachable(rates, saturation_eps)
        at = 0
        for rate in rates:
            if rate not in sustainable:
                points.append(
                    SweepPoint(
                        rate,
                        skipped=f"above {SATURATION_SHARE:.0%} of its "
                        f"measured {saturation_eps:,.0f} events/s",
                    )
                )
                continue
            n = records_for(rate, self.cfg.sweep_seconds)
            if at + n > len(pool):
                points.append(SweepPoint(rate, skipped="sweep pool exhausted"))
                continue
            latency, done = await self._paced(proc, admin, pool[at : at + n], rate, done)
            at += n
            points.append(SweepPoint(rate, latency))
        return points


def new_run_config(
    bootstrap: str, *, quick: bool, fixed_rate_eps: float, profile: Path | None
) -> RunConfig:
    """A run id unique on the broker, and a scratch directory for the hosts' logs."""
    return RunConfig(
        bootstrap=bootstrap,
        fixed_rate_eps=fixed_rate_eps,
        phase_seconds=0.5 if quick else 10.0,
        drain_timeout_s=120.0 if quick else 600.0,
        sweep_seconds=0.25 if quick else 5.0,
        run_id=uuid.uuid4().hex[:8],
        workdir=Path(tempfile.mkdtemp(prefix="q2c-bench-")),
        profile_path=profile,
    )
