"""The whole `q2c bench` run: broker, workload, every system in both modes, memory, restore."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.bench.fanout import records_written
from engine.bench.growth import FULL_SIZES, QUICK_SIZES, cost_growth
from engine.bench.hostile import hostile_costs
from engine.bench.memory import bytes_per_saga, restore_rate
from engine.bench.reads import read_costs
from engine.bench.results import ENGINE, FANOUT, FAUST, RAW, RAW_TXN, BenchResult
from engine.bench.runner import RunConfig, SystemRun, Workload, new_run_config
from engine.bench.sweep import SWEEP_RATES, pool_size
from engine.bench.workload import build_records, deal_ids, events_per_deal
from engine.workload.histories import HistoryOptions

log = logging.getLogger("q2c.bench")
MODES = ("exactly_once", "at_least_once")
SYSTEMS = {
    "exactly_once": (ENGINE, RAW, RAW_TXN, FAUST),
    "at_least_once": (ENGINE, RAW, FAUST),
}
MEMORY_TARGET_SAGAS = 100_000
READ_LETTERS = 1_000  # dead letters the DLQ summary reads: a bad day's worth
CHUNK_DEALS = 50  # deals interleaved per chunk: any prefix of a phase is a realistic mix


@dataclass(frozen=True)
class Sizes:
    """Deal counts per phase (each deal is ~11 events) and the memory sample."""

    warmup_deals: int
    drain_deals: int
    fixed_deals: int
    saturation_deals: int
    memory_deals: int
    sweep_deals: int

    @classmethod
    def for_run(
        cls, quick: bool, fixed_rate_eps: float, phase_seconds: float, sweep_seconds: float
    ) -> Sizes:
        per_deal = events_per_deal()
        fixed = max(1, round(fixed_rate_eps * phase_seconds / per_deal))
        # Whole deals, plus one: a point's slice may end inside a deal.
        sweep = -(-pool_size(SWEEP_RATES, sweep_seconds) // per_deal) + 1
        if quick:
            return cls(10, 200, fixed, 60, 1_000, sweep)
        # Full: 100k sagas means ~33.4k deals (3 saga types per deal).
        return cls(200, 3_000, fixed, 3_000, MEMORY_TARGET_SAGAS // 3 + 1, sweep)


def _records(run: str, phase: str, deals: int, options: HistoryOptions) -> list[Any]:
    ids = deal_ids(run, phase, deals)
    out: list[Any] = []
    for i in range(0, len(ids), CHUNK_DEALS):
        out += build_records(ids[i : i + CHUNK_DEALS], options)
    return out


def build_workload(cfg: RunConfig, sizes: Sizes, opts: HistoryOptions) -> Workload:
    return Workload(
        warmup=_records(cfg.run_id, "w", sizes.warmup_deals, opts),
        drain=_records(cfg.run_id, "d", sizes.drain_deals, opts),
        fixed=_records(cfg.run_id, "f", sizes.fixed_deals, opts),
        saturation_pool=_records(cfg.run_id, "s", sizes.saturation_deals, opts),
        sweep_pool=_records(cfg.run_id, "p", sizes.sweep_deals, opts),
    )


async def run_bench(
    bootstrap: str,
    *,
    quick: bool,
    fixed_rate_eps: float = 200.0,
    profile: Path | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
) -> BenchResult:
    """Measure every system in both modes on `bootstrap`, then memory and restore."""
    cfg = new_run_config(bootstrap, quick=quick, fixed_rate_eps=fixed_rate_eps, profile=profile)
    sizes = Sizes.for_run(quick, fixed_rate_eps, cfg.phase_seconds, cfg.sweep_seconds)
    progress("generating workload")
    work_options = HistoryOptions(base_time=datetime.now(UTC))
    work = build_workload(cfg, sizes, work_options)
    result = BenchResult(
        quick=quick,
        config={
            "bootstrap": bootstrap,
            "partitions": 6,
            "workers": 1,
            "warmup_events": len(work.warmup),
            "measured_events": len(work.drain),
            "fixed_rate_eps": fixed_rate_eps,
            "phase_seconds": cfg.phase_seconds,
            "mean_value_bytes": sum(len(r.value) for r in work.drain) / max(len(work.drain), 1),
            "cpus": os.cpu_count(),
            "run_id": cfg.run_id,
        },
    )
    progress("counting the engine's records per event (offline)")
    written = records_written(work.warmup, work.drain)
    per_event = written.per_event
    result.config["engine_records_per_event"] = per_event
    result.config["engine_records_by_topic"] = dict(written.by_topic)
    engine_state_topic: str | None = None
    for mode in MODES:
        result.modes[mode] = {}
        half_load: float | None = None  # set by the engine's run, the first of each mode
        for system in SYSTEMS[mode]:
            progress(f"{mode}: {system}")
            run = SystemRun(cfg, system, mode)
            # The sweep compares the engine with the raw pipes (faust's latency is measured
            # at the fixed load and at half saturation only, to keep the run's length).
            rates = SWEEP_RATES if system != FAUST else ()
            measured = await run.run(work, half_load_eps=half_load, sweep_rates=rates)
            result.modes[mode][system] = measured
            if system == ENGINE:
                half_load = measured.throughput_eps / 2 if measured.ok else None
                if mode == "exactly_once":
                    engine_state_topic = run.names.state
        progress(f"{mode}: raw pipe writing {per_event:.2f} records per event")
        fan = SystemRun(cfg, FANOUT, mode, fanout=max(per_event, 1.0))
        result.modes[mode][FANOUT] = await fan.run(work, latency=False)
    if engine_state_topic is not None:
        progress("restore rate")
        result.restore = await restore_rate({"bootstrap_servers": bootstrap}, engine_state_topic)
    progress("scale-out: two engine workers (exactly_once drain)")
    result.scale_out = await SystemRun(cfg, ENGINE, "exactly_once", tag="-x2", workers=2).run(
        work, latency=False
    )
    result.growth = await cost_growth(
        cfg, work.drain, QUICK_SIZES if quick else FULL_SIZES, work_options, progress
    )
    progress("memory per saga")
    result.memory = bytes_per_saga(sizes.memory_deals, MEMORY_TARGET_SAGAS)
    progress("hostile input")
    result.hostile = hostile_costs()
    progress("operator reads")
    result.reads = read_costs(sizes.memory_deals, READ_LETTERS).as_dict()
    if profile is not None:
        progress("profiling the engine (exactly_once drain)")
        profiled = await SystemRun(cfg, ENGINE, "exactly_once", tag="-profiled").run(
            work, latency=False, profile=profile
        )
        if profiled.error is not None:
            log.warning("profiling run failed: %s", profiled.error)
        if profile.exists():
            result.profile = json.loads(profile.read_text())
            profiled_events = len(work.warmup) + len(work.drain)
            result.profile["stages_us_per_event"] = {
                stage: seconds / profiled_events * 1e6
                for stage, seconds in result.profile.get("stage_seconds", {}).items()
            }
    if all(r.error is None for systems in result.modes.values() for r in systems.values()):
        shutil.rmtree(cfg.workdir, ignore_errors=True)  # the hosts' logs matter only on failure
    else:
        result.config["logs"] = str(cfg.workdir)
    return result


def external_bootstrap() -> str | None:
    """Q2C_BOOTSTRAP_SERVERS when set (then the bench starts no broker of its own)."""
    return os.environ.get("Q2C_BOOTSTRAP_SERVERS") or None


__all__ = ["MODES", "SYSTEMS", "Sizes", "external_bootstrap", "run_bench"]
