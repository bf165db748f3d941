"""Result records, ratios against the baselines, and the JSON shape of `q2c bench --json`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.bench.stats import LatencySummary, ratio
from engine.bench.sweep import SweepPoint, p99_ratios
from engine.bench.targets import assess

ENGINE = "engine"
RAW = "raw_pipe"
RAW_TXN = "raw_pipe_txn"
FAUST = "faust"
# The mode's raw pipe (transactional in exactly-once) writing the engine's records per event.
FANOUT = "raw_pipe_fanout"
FANOUT_BASELINE = {"exactly_once": RAW_TXN, "at_least_once": RAW}


@dataclass
class SystemResult:
    """One system under test in one mode; `error` says why figures are missing."""

    system: str
    mode: str
    throughput_eps: float = 0.0
    cpu_s_per_1k: float = 0.0
    peak_rss_mb: float = 0.0
    events: int = 0
    latency_fixed: LatencySummary | None = None
    # Paced at half the engine's measured saturation (the same offered load for every system).
    latency_half_saturation: LatencySummary | None = None
    sweep: list[SweepPoint] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.throughput_eps > 0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "throughput_eps": self.throughput_eps,
            "cpu_seconds_per_1k_events": self.cpu_s_per_1k,
            "peak_rss_mb": self.peak_rss_mb,
            "events_measured": self.events,
            "latency_fixed": self.latency_fixed.as_dict() if self.latency_fixed else None,
            "latency_half_saturation": (
                self.latency_half_saturation.as_dict() if self.latency_half_saturation else None
            ),
            "sweep": [p.as_dict() for p in self.sweep],
        }
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass
class MemoryResult:
    """Store memory per active saga, measured at `measured_sagas` states."""

    bytes_per_saga: float
    measured_sagas: int
    target_sagas: int
    rss_bytes_per_saga: float

    @property
    def extrapolated(self) -> bool:
        return self.measured_sagas < self.target_sagas


@dataclass
class RestoreResult:
    """Changelog restore into a SagaStore: records, seconds until the store could serve
    (reading and taking the bytes), fixed set-up time, and the seconds its indexes took after
    (the worker does that a slice per loop while it already processes)."""

    records: int
    seconds: float
    setup_seconds: float
    index_seconds: float = 0.0

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class GrowthPoint:
    """The engine's measured drain with `sagas` sagas already open in its store."""

    sagas: int
    result: SystemResult

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "active_sagas": self.sagas,
            "throughput_eps": self.result.throughput_eps,
            "cpu_seconds_per_1k_events": self.result.cpu_s_per_1k,
            "peak_rss_mb": self.result.peak_rss_mb,
        }
        if self.result.error is not None:
            out["error"] = self.result.error
        return out


def growth_ratios(points: list[GrowthPoint]) -> dict[str, float | None]:
    """The largest store's figures over the smallest's (CPU above 1: dearer per event)."""
    ok = [p for p in points if p.result.ok]
    if len(ok) < 2:
        return {"cpu_growth_ratio": None, "throughput_growth_ratio": None}
    small, large = ok[0], ok[-1]
    return {
        "cpu_growth_ratio": ratio(large.result.cpu_s_per_1k, small.result.cpu_s_per_1k),
        "throughput_growth_ratio": ratio(large.result.throughput_eps, small.result.throughput_eps),
    }


@dataclass
class BenchResult:
    """Everything one `q2c bench` run measured."""

    quick: bool
    config: dict[str, Any]
    modes: dict[str, dict[str, SystemResult]] = field(default_factory=dict)
    memory: MemoryResult | None = None
    restore: RestoreResult | None = None
    profile: dict[str, Any] | None = None
    growth: list[GrowthPoint] = field(default_factory=list)
    reads: dict[str, Any] | None = None  # `ReadCosts.as_dict()`
    scale_out: SystemResult | None = None  # the exactly-once drain with two engine workers
    hostile: dict[str, Any] | None = None  # `hostile_costs()`


def _p99(r: SystemResult | None, phase: str) -> float | None:
    if r is None or not r.ok:
        return None
    summary = r.latency_fixed if phase == "fixed" else r.latency_half_saturation
    return summary.p99_ms if summary is not None and summary.count > 0 else None


def mode_ratios(systems: dict[str, SystemResult]) -> dict[str, Any]:
    """Engine-to-baseline ratios for one mode (None where a figure is missing).

    Throughput ratios are engine / baseline (higher is better for the engine); latency and CPU
    ratios are engine / baseline too (lower is better for the engine).
    """
    engine = systems.get(ENGINE)
    out: dict[str, Any] = {}
    for name in (RAW, RAW_TXN, FAUST, FANOUT):
        base = systems.get(name)
        if base is None:
            continue
        usable = engine is not None and engine.ok and base.ok
        out[f"ratio_to_{name}"] = (
            ratio(engine.throughput_eps, base.throughput_eps) if usable and engine else None
        )
        out[f"cpu_ratio_to_{name}"] = (
            ratio(engine.cpu_s_per_1k, base.cpu_s_per_1k) if usable and engine else None
        )
        for phase in ("fixed", "half_saturation"):
            e99, b99 = _p99(engine, phase), _p99(base, phase)
            out[f"p99_{phase}_ratio_to_{name}"] = (
                ratio(e99, b99) if e99 is not None and b99 is not None else None
            )
        if usable and engine and base.sweep:
            out[f"sweep_p99_ratio_to_{name}"] = p99_ratios(engine.sweep, base.sweep)
    faust_t, faust_p = (
        out.get(f"ratio_to_{FAUST}"),
        out.get(f"p99_half_saturation_ratio_to_{FAUST}"),
    )
    out["ahead_of_faust"] = (
        faust_t is not None and faust_t > 1.0 and faust_p is not None and faust_p < 1.0
    )
    return out


def fanout_ceiling(mode: str, systems: dict[str, SystemResult]) -> dict[str, Any]:
    """The fan-out pipe's throughput over the mode's raw pipe: the share of the raw rate
    aiokafka keeps writing the engine's records per event (the engine's ratio cannot beat it)."""
    fan, base = systems.get(FANOUT), systems.get(FANOUT_BASELINE[mode])
    if fan is None:
        return {}
    usable = base is not None and base.ok and fan.ok
    return {
        "raw_pipe_fanout_ratio_to_baseline": (
            ratio(fan.throughput_eps, base.throughput_eps) if usable and base else None
        )
    }


def to_json(result: BenchResult) -> dict[str, Any]:
    """The `--json` document: per mode the systems' figures plus flat `ratio` fields."""
    doc: dict[str, Any] = {"quick": result.quick, "config": result.config}
    for mode, systems in result.modes.items():
        doc[mode] = {
            "systems": {name: r.as_dict() for name, r in systems.items()},
            **mode_ratios(systems),
            **fanout_ceiling(mode, systems),
        }
    if result.memory is not None:
        m = result.memory
        doc["memory"] = {
            "bytes_per_active_saga": m.bytes_per_saga,
            "rss_bytes_per_active_saga": m.rss_bytes_per_saga,
            "measured_sagas": m.measured_sagas,
            "target_sagas": m.target_sagas,
            "extrapolated": m.extrapolated,
            "store_bytes_at_target": m.bytes_per_saga * m.target_sagas,
        }
    if result.restore is not None:
        r = result.restore
        doc["restore"] = {
            "records": r.records,
            "seconds": r.seconds,
            "setup_seconds": r.setup_seconds,
            "records_per_s": r.records_per_s,
            "index_seconds": r.index_seconds,
            "indexed_records_per_s": r.records / max(r.seconds + r.index_seconds, 1e-9),
        }
    if result.profile is not None:
        doc["profile"] = result.profile
    if result.growth:
        doc["cost_growth"] = {
            "points": [p.as_dict() for p in result.growth],
            **growth_ratios(result.growth),
        }
    if result.reads is not None:
        doc["operator_reads"] = result.reads
    if result.hostile is not None:
        doc["hostile_input"] = result.hostile
    if result.scale_out is not None:
        one = result.modes.get("exactly_once", {}).get(ENGINE)
        two = result.scale_out
        doc["scale_out"] = {
            "workers": 2,
            **two.as_dict(),
            "throughput_ratio_to_one_worker": (
                ratio(two.throughput_eps, one.throughput_eps)
                if one is not None and one.ok and two.ok
                else None
            ),
        }
    doc["targets"] = assess(doc)
    return doc
