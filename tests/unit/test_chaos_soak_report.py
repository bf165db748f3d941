"""The soak's verdict, table and plot (no broker)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from engine.chaos.soak_report import FaultWindow, Sample, SoakReport, fault_table, plot, soak_table


def _report(rss: list[float], lag_back: list[float | None]) -> SoakReport:
    samples = tuple(
        Sample(
            at_s=60.0 * (i + 1),
            rss_mb=r,
            open_fds=40,
            lag=0,
            processed_per_s=50.0,
            published_per_s=50.0,
        )
        for i, r in enumerate(rss)
    )
    faults = tuple(
        FaultWindow(f"pause-broker (any) 15s @{i}", 300.0 * (i + 1), 300.0 * (i + 1) + 15, b)
        for i, b in enumerate(lag_back)
    )
    return SoakReport(
        minutes=len(rss),
        rate=50.0,
        saturation=100.0,
        warmup_samples=2,
        samples=samples,
        faults=faults,
    )


def test_flat_memory_and_lag_back_after_each_fault_passes() -> None:
    r = _report([100.0, 120.0, 125.0, 128.0, 131.0], [4.0, 6.5])
    assert r.rss_baseline_mb == 120.0
    assert r.passed, r.failures
    assert r.as_json()["passed"] is True


def test_memory_growth_over_ten_percent_after_warm_up_fails() -> None:
    r = _report([100.0, 120.0, 125.0, 130.0, 133.0], [4.0])
    assert not r.passed
    assert r.failures == ["RSS grew 10.8% after warm-up (limit 10%)"]


def test_lag_that_never_returns_to_zero_fails_naming_the_fault() -> None:
    r = _report([100.0, 100.0, 100.0], [3.0, None])
    assert r.failures == ["lag did not return to 0 after pause-broker (any) 15s @1"]


def test_too_short_a_soak_cannot_pass() -> None:
    assert not _report([100.0, 100.0], []).passed


def test_table_and_plot_show_every_sample(tmp_path: Path) -> None:
    r = _report([100.0, 101.0, 102.0], [5.0])
    console = Console(width=120, record=True)
    console.print(soak_table(r))
    console.print(fault_table(r))
    text = console.export_text()
    assert "102.0" in text and "lag back to 0 after" in text and "5.0 s" in text
    png = plot(r, tmp_path / "soak.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
