"""The verdict as a rich table (what `q2c chaos run` prints)."""

from __future__ import annotations

from rich.table import Table

from engine.chaos.verdict import Verdict


def _ok(good: bool) -> str:
    return "[green]ok[/]" if good else "[red]FAIL[/]"


def verdict_table(v: Verdict) -> Table:
    table = Table(title=f"chaos {v.scenario} (seed {v.seed}): {'PASSED' if v.passed else 'FAILED'}")
    table.add_column("check")
    table.add_column("value", justify="right")
    table.add_column("", justify="center")
    table.add_row("deals in", str(v.deals), "")
    table.add_row(
        "completed / exception / cancelled", f"{v.completed} / {v.in_exception} / {v.cancelled}", ""
    )
    table.add_row("deals unfinished", str(v.unfinished), _ok(v.unfinished == 0))
    table.add_row("commands seen (read_committed)", str(v.commands_seen), "")
    table.add_row("duplicate idempotency keys", str(v.duplicate_keys), _ok(v.duplicate_keys == 0))
    table.add_row(
        "lost commands (expected - seen)", str(v.lost_commands), _ok(v.lost_commands == 0)
    )
    if v.effects_missing is not None:
        table.add_row(
            "platform effects missing", str(v.effects_missing), _ok(v.effects_missing == 0)
        )
        table.add_row(
            "duplicate platform effects",
            str(v.duplicate_effects),
            _ok(v.duplicate_effects == 0),
        )
    if v.adapter_counts:
        counts = ", ".join(f"{what}: {n}" for what, n in v.adapter_counts.items())
        table.add_row("adapters under faults", counts, "")
    for error in v.adapter_errors:
        table.add_row("adapter stopped", error, _ok(False))
    letters = ", ".join(f"{cause}: {n}" for cause, n in v.dead_letters.items()) or "none"
    table.add_row("dead letters by cause", letters, "")
    for f in v.faults:
        recover = "n/a (no work left)" if f.recover_s is None else f"{f.recover_s:.1f} s"
        table.add_row(
            f"fault {f.label}", f"recovered {recover}, longest pause {f.longest_pause_s:.1f} s", ""
        )
    table.add_row(
        "final states == reference run",
        str(v.states_equal_reference),
        _ok(v.states_equal_reference),
    )
    for diff in v.state_differences[:5]:
        table.add_row("  differs", diff, "")
    return table
