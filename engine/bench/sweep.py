"""The bench's load sweep: which offered loads each system gets, the ratios at each, the plot.

Every system of a mode is offered the same loads; a load at or above `SATURATION_SHARE` of a
system's own measured drain rate is left out for it (it would measure a growing queue, not
latency), and said so in the results rather than dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.bench.stats import LatencySummary, ratio

SWEEP_RATES: tuple[float, ...] = (100.0, 200.0, 500.0, 1_000.0, 2_000.0)
SATURATION_SHARE = 0.9


@dataclass(frozen=True)
class SweepPoint:
    """One offered load for one system: its latency, or why it was not offered."""

    offered_eps: float
    latency: LatencySummary | None = None
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"offered_eps": self.offered_eps}
        if self.latency is not None:
            out.update(self.latency.as_dict())
        if self.skipped is not None:
            out["skipped"] = self.skipped
        return out


def reachable(rates: Sequence[float], saturation_eps: float) -> list[float]:
    """The loads of `rates` below SATURATION_SHARE of the system's measured drain rate."""
    return [r for r in rates if r < SATURATION_SHARE * saturation_eps]


def records_for(rate: float, seconds: float) -> int:
    """Records one point offers: `seconds` of load at `rate` (at least one)."""
    return max(1, round(rate * seconds))


def pool_size(rates: Sequence[float], seconds: float) -> int:
    """Records the sweep's pool must hold for one system to run every point on fresh ones."""
    return sum(records_for(r, seconds) for r in rates)


def p99_ratios(
    engine: Sequence[SweepPoint], baseline: Sequence[SweepPoint]
) -> dict[str, float | None]:
    """{offered load: engine p99 / baseline p99} at the loads both measured."""
    base = {p.offered_eps: p.latency for p in baseline if p.latency is not None}
    out: dict[str, float | None] = {}
    for p in engine:
        b = base.get(p.offered_eps)
        if p.latency is None or b is None or p.latency.count == 0 or b.count == 0:
            continue
        out[f"{p.offered_eps:g}"] = ratio(p.latency.p99_ms, b.p99_ms)
    return out


def plot(sweeps: Mapping[str, Mapping[str, Sequence[SweepPoint]]], path: Path) -> Path:
    """p50 and p99 against offered load, one panel per mode, one line pair per system."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sweeps), figsize=(6 * len(sweeps), 4.5), squeeze=False)
    for ax, (mode, systems) in zip(axes[0], sweeps.items(), strict=True):
        for system, points in systems.items():
            measured = [p for p in points if p.latency is not None and p.latency.count > 0]
            rates = [p.offered_eps for p in measured]
            p99 = ax.plot(rates, [p.latency.p99_ms for p in measured if p.latency], marker="o")
            ax.plot(
                rates,
                [p.latency.p50_ms for p in measured if p.latency],
                marker=".",
                linestyle="--",
                color=p99[0].get_color(),
            )
            p99[0].set_label(f"{system} (p99; p50 dashed)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("offered load (events/s)")
        ax.set_ylabel("event to committed output (ms)")
        ax.set_title(mode)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle("q2c bench: latency by offered load")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


__all__ = [
    "SATURATION_SHARE",
    "SWEEP_RATES",
    "SweepPoint",
    "p99_ratios",
    "plot",
    "pool_size",
    "reachable",
    "records_for",
]
