"""The terminal report: figures of every system side by side, with the engine's ratios."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from engine.bench.results import (
    BenchResult,
    SystemResult,
    fanout_ceiling,
    growth_ratios,
    mode_ratios,
    to_json,
)

LABELS = {
    "engine": "q2c engine",
    "raw_pipe": "raw aiokafka pipe",
    "raw_pipe_txn": "raw pipe (transactional)",
    "faust": "faust-streaming",
    "raw_pipe_fanout": "raw pipe, engine's records/event",
}


def _num(value: float | None, fmt: str = "{:,.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def _lat(r: SystemResult, phase: str) -> str:
    s = r.latency_fixed if phase == "fixed" else r.latency_half_saturation
    if s is None or s.count == 0:
        return "-"
    return f"{s.p50_ms:,.0f} / {s.p99_ms:,.0f} / {s.max_ms:,.0f}"


def _ratio_cell(ratios: dict[str, Any], system: str) -> str:
    if system == "engine":
        return ""
    t = ratios.get(f"ratio_to_{system}")
    p = ratios.get(f"p99_fixed_ratio_to_{system}")
    c = ratios.get(f"cpu_ratio_to_{system}")
    return f"{_num(t, '{:.2f}')} / {_num(p, '{:.2f}')} / {_num(c, '{:.2f}')}"


def mode_table(mode: str, systems: dict[str, SystemResult]) -> Table:
    ratios = mode_ratios(systems)
    table = Table(title=f"{mode}  (latency ms p50 / p99 / max; engine/baseline ratios)")
    for col in (
        "system",
        "events/s",
        "CPU s/1k ev",
        "peak RSS MB",
        "latency @ fixed load",
        "latency @ 50% engine sat.",
        "offered ev/s",
        "q2c ratio: tput / p99 / CPU",
    ):
        table.add_column(col, justify="left" if col == "system" else "right")
    for name, r in systems.items():
        if r.error is not None:
            table.add_row(LABELS.get(name, name), f"[red]failed: {r.error[:90]}[/red]")
            continue
        sat = r.latency_half_saturation.offered_eps if r.latency_half_saturation else None
        table.add_row(
            LABELS.get(name, name),
            _num(r.throughput_eps),
            _num(r.cpu_s_per_1k, "{:.3f}"),
            _num(r.peak_rss_mb, "{:.0f}"),
            _lat(r, "fixed"),
            _lat(r, "half_saturation"),
            _num(sat),
            _ratio_cell(ratios, name),
        )
    table.caption = (
        "ahead of faust on throughput and p99 at 50% engine saturation: "
        f"{ratios.get('ahead_of_faust')}"
    )
    ceiling = fanout_ceiling(mode, systems).get("raw_pipe_fanout_ratio_to_baseline")
    if ceiling is not None:
        table.caption += (
            f"; writing the engine's records per event, the raw pipe keeps {ceiling:.2f} of "
            "its own rate (the most the engine's throughput ratio can reach on aiokafka)"
        )
    return table


def sweep_table(mode: str, systems: dict[str, SystemResult]) -> Table | None:
    """Latency p50 / p99 (ms) at each offered load of the sweep, a column per system."""
    swept = {name: r.sweep for name, r in systems.items() if r.sweep}
    if not swept:
        return None
    table = Table(title=f"{mode}: load sweep, latency ms p50 / p99")
    table.add_column("offered ev/s", justify="right")
    for name in swept:
        table.add_column(LABELS.get(name, name), justify="right")
    rates = sorted({p.offered_eps for points in swept.values() for p in points})
    for rate in rates:
        cells = []
        for points in swept.values():
            point = next((p for p in points if p.offered_eps == rate), None)
            if point is None or point.latency is None:
                cells.append("-" if point is None else "beyond saturation")
            else:
                cells.append(f"{point.latency.p50_ms:,.0f} / {point.latency.p99_ms:,.0f}")
        table.add_row(f"{rate:,.0f}", *cells)
    return table


def growth_table(result: BenchResult) -> Table:
    """The engine's drain with more and more sagas already open in its store."""
    table = Table(title="cost growth: the same drain with N sagas already open (exactly-once)")
    for col in ("active sagas", "events/s", "CPU s/1k ev", "peak RSS MB"):
        table.add_column(col, justify="right")
    for p in result.growth:
        r = p.result
        if r.error is not None:
            table.add_row(f"{p.sagas:,}", f"[red]failed: {r.error[:90]}[/red]")
            continue
        table.add_row(
            f"{p.sagas:,}",
            _num(r.throughput_eps),
            _num(r.cpu_s_per_1k, "{:.3f}"),
            _num(r.peak_rss_mb, "{:.0f}"),
        )
    ratios = growth_ratios(result.growth)
    table.caption = (
        f"largest / smallest: CPU per event {_num(ratios['cpu_growth_ratio'], '{:.2f}')}, "
        f"throughput {_num(ratios['throughput_growth_ratio'], '{:.2f}')}"
    )
    return table


def targets_table(checks: list[dict[str, Any]]) -> Table:
    """The hot-path targets: the figure each reads, its value, the limit, the verdict."""
    table = Table(title="targets")
    for col in ("target", "value", "limit", "verdict", "figure"):
        table.add_column(col, justify="right" if col in ("value", "limit") else "left")
    for c in checks:
        verdict = {True: "[green]met[/green]", False: "[red]NOT met[/red]"}.get(
            c["met"], "not measured"
        )
        table.add_row(
            c["target"],
            _num(c["value"], "{:,.3f}" if c["limit"] < 10 else "{:,.0f}"),
            f"{c['relation']} {c['limit']:,g}",
            verdict,
            c["figure"],
        )
    return table


def render(result: BenchResult, console: Console | None = None) -> None:
    """Print one table per mode, then memory, restore, the profile's top functions and the
    targets."""
    console = console or Console()
    for mode, systems in result.modes.items():
        console.print(mode_table(mode, systems))
        swept = sweep_table(mode, systems)
        if swept is not None:
            console.print(swept)
    cfg = result.config
    console.print(
        f"workload: {cfg['measured_events']:,} measured events after {cfg['warmup_events']:,} "
        f"warm-up, mean value {cfg['mean_value_bytes']:.0f} B, 6 partitions, 1 worker, "
        f"fixed load {cfg['fixed_rate_eps']:,.0f} ev/s for {cfg['phase_seconds']} s"
        + (" (quick: small N, noisy)" if result.quick else "")
    )
    if result.memory is not None:
        m = result.memory
        note = (
            f" (measured at {m.measured_sagas:,}, extrapolated linearly to {m.target_sagas:,})"
            if m.extrapolated
            else ""
        )
        console.print(
            f"memory: {m.bytes_per_saga:,.0f} B per active saga (tracemalloc; RSS "
            f"{m.rss_bytes_per_saga:,.0f} B), {m.bytes_per_saga * m.target_sagas / 2**20:,.0f} MiB "
            f"at {m.target_sagas:,} sagas{note}"
        )
    if result.restore is not None:
        r = result.restore
        console.print(
            f"restore: {r.records:,} changelog records at {r.records_per_s:,.0f} records/s "
            f"(+{r.setup_seconds:.2f} s consumer set-up); indexed {r.index_seconds:.2f} s "
            "later, while the worker already processes"
        )
    if result.reads is not None:
        reads = result.reads
        console.print(
            f"operator reads: status-page overview {reads['overview_ms']:,.1f} ms at "
            f"{reads['sagas']:,} sagas; DLQ summary {reads['dlq_summary_ms']:,.1f} ms over "
            f"{reads['dead_letters']:,} dead letters (view only, without its Kafka read)"
        )
    if result.hostile is not None:
        park = result.hostile["park_us_per_record"]
        console.print(
            "hostile input: parking a record for its correlation costs "
            + ", ".join(f"{us:,.1f} us with {n} waiting" for n, us in park.items())
        )
    if result.scale_out is not None:
        two = result.scale_out
        one = result.modes.get("exactly_once", {}).get("engine")
        if two.error is not None:
            console.print(f"scale-out: [red]failed: {two.error[:120]}[/red]")
        elif one is not None and one.ok:
            console.print(
                f"scale-out: two workers drain {two.throughput_eps:,.0f} ev/s exactly-once, "
                f"{two.throughput_eps / one.throughput_eps:.2f} x one worker's "
                f"{one.throughput_eps:,.0f} (same machine: {two.cpu_s_per_1k:.3f} CPU s/1k ev)"
            )
    if result.growth:
        console.print(growth_table(result))
    if result.profile:
        prof = Table(title="engine profile: top functions by self time (share of busy time)")
        prof.add_column("function")
        prof.add_column("file")
        prof.add_column("share", justify="right")
        for row in result.profile.get("top_self", [])[:12]:
            prof.add_row(row["function"], row["file"], f"{row['share_of_busy']:.1%}")
        console.print(prof)
        per_event = result.profile.get("stages_us_per_event", {})
        if per_event:
            stages = Table(title="engine busy time per event by stage (us; profiled, so slower)")
            stages.add_column("stage")
            stages.add_column("us / event", justify="right")
            for stage, us in per_event.items():
                stages.add_row(stage, f"{us:,.1f}")
            console.print(stages)
    console.print(targets_table(to_json(result)["targets"]))
