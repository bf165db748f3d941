"""The soak's figures and its verdict (pure), and how they are shown: a table, JSON, a plot.

A soak passes when the worker's memory is flat (RSS at the end at most 10% above RSS at the
end of warm-up) and its consumer lag came back to zero after every fault: under a steady
stream that means the fault's backlog is gone (everything on the inbound topics when the
broker answered again is committed), since new records are always in flight.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

RSS_GROWTH_LIMIT = 0.10


@dataclass(frozen=True)
class Sample:
    """One reading, `at_s` seconds into the soak."""

    at_s: float
    rss_mb: float
    open_fds: int
    lag: int
    processed_per_s: float  # input records the worker committed since the last sample
    published_per_s: float


@dataclass(frozen=True)
class FaultWindow:
    label: str
    started_s: float
    ended_s: float
    lag_zero_after_s: float | None  # seconds after the fault ended; None: never within the soak


@dataclass(frozen=True)
class SoakReport:
    minutes: float
    rate: float
    saturation: float | None  # measured drain rate; None when the rate was given
    warmup_samples: int
    samples: tuple[Sample, ...]
    faults: tuple[FaultWindow, ...]
    problems: list[str] = field(default_factory=list)
    finished_retention_s: float | None = None  # the worker's Q2C_FINISHED_RETENTION_S
    accounts: int | None = None  # customer accounts the deals were spread over

    @property
    def rss_baseline_mb(self) -> float | None:
        if len(self.samples) <= self.warmup_samples:
            return None
        return self.samples[self.warmup_samples - 1].rss_mb

    @property
    def rss_growth(self) -> float | None:
        """RSS at the end relative to the end of warm-up (0.05 = 5% more)."""
        base = self.rss_baseline_mb
        if base is None or base <= 0:
            return None
        return self.samples[-1].rss_mb / base - 1.0

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[str]:
        out = list(self.problems)
        growth = self.rss_growth
        if growth is None:
            out.append("too few samples after warm-up to judge memory")
        elif growth > RSS_GROWTH_LIMIT:
            out.append(f"RSS grew {growth:.1%} after warm-up (limit {RSS_GROWTH_LIMIT:.0%})")
        for f in self.faults:
            if f.lag_zero_after_s is None:
                out.append(f"lag did not return to 0 after {f.label}")
        return out

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            rss_baseline_mb=self.rss_baseline_mb,
            rss_growth=self.rss_growth,
            passed=self.passed,
            failures=self.failures,
        )
        return out


def soak_table(r: SoakReport) -> Table:
    verdict = "PASSED" if r.passed else "FAILED"
    sat = f", measured drain rate {r.saturation:.0f}/s" if r.saturation else ""
    kept = ""
    if r.finished_retention_s is not None:
        kept = f"; finished sagas kept {r.finished_retention_s:g} s, {r.accounts} accounts"
    table = Table(title=f"chaos soak {r.minutes:g} min at {r.rate:.0f} ev/s{sat}{kept}: {verdict}")
    for column in ("t (min)", "RSS MB", "open fds", "lag", "processed/s", "published/s"):
        table.add_column(column, justify="right")
    for s in r.samples:
        table.add_row(
            f"{s.at_s / 60:.1f}",
            f"{s.rss_mb:.1f}",
            str(s.open_fds),
            str(s.lag),
            f"{s.processed_per_s:.1f}",
            f"{s.published_per_s:.1f}",
        )
    return table


def fault_table(r: SoakReport) -> Table:
    table = Table(title="faults")
    for column in ("fault", "at (min)", "down (s)", "lag back to 0 after"):
        table.add_column(column)
    for f in r.faults:
        back = "never" if f.lag_zero_after_s is None else f"{f.lag_zero_after_s:.1f} s"
        table.add_row(f.label, f"{f.started_s / 60:.1f}", f"{f.ended_s - f.started_s:.0f}", back)
    growth = "n/a" if r.rss_growth is None else f"{r.rss_growth:+.1%}"
    table.caption = f"RSS after warm-up: {growth}; " + (
        "; ".join(r.failures) if r.failures else "no failures"
    )
    return table


def plot(r: SoakReport, path: Path) -> Path:
    """RSS, open fds, lag and throughput over time, faults shaded, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    minutes = [s.at_s / 60 for s in r.samples]
    series = (
        ("RSS (MB)", [s.rss_mb for s in r.samples]),
        ("open fds", [s.open_fds for s in r.samples]),
        ("consumer lag", [s.lag for s in r.samples]),
        ("processed / s", [s.processed_per_s for s in r.samples]),
    )
    fig, axes = plt.subplots(len(series), 1, sharex=True, figsize=(9, 9))
    for ax, (title, values) in zip(axes, series, strict=True):
        ax.plot(minutes, values, marker="o", markersize=3)
        ax.set_ylabel(title)
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)
        for f in r.faults:
            ax.axvspan(f.started_s / 60, f.ended_s / 60, color="red", alpha=0.15)
    axes[-1].set_xlabel("minutes (faults shaded)")
    fig.suptitle(f"q2c chaos soak: {r.minutes:g} min at {r.rate:.0f} ev/s")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
