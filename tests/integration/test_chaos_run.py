"""`q2c chaos run`: every scenario, short (tens of deals, short outages), passes its verdict.

Each run starts its own cluster and workers and injects faults only into them. The default
run has every scenario short and a worker-kill through the CLI; the long runs (200 deals,
full-length outages, seeds 11-13) are marked `long`:
`pytest -m long tests/integration/test_chaos_run.py`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.chaos.runner import RunOptions, run_chaos
from engine.chaos.scenarios import SCENARIOS
from engine.chaos.verdict import Verdict
from engine.cli.main import app

pytestmark = pytest.mark.kafka

ONE_BROKER = [
    "worker-kill",
    "single-broker-restart",
    "broker-pause",
    "rebalance-storm",
    "adapter-outage",
]
THREE_BROKERS = ["broker-kill", "controller-kill", "rolling-restart"]
MIXED = ["all"]
# Every scenario runs short in the default suite (25-75 s each on 2 cores; `all`, the ten
# faults one after another, about 2.5 minutes), with a worker-kill end to end through the CLI
# (`test_cli_prints_the_verdict_as_json`). The 200-deal runs, three seeds each, are -m long.


def _needs_launcher() -> None:
    if shutil.which("java") is None:
        pytest.skip("chaos runs start their own local cluster (Java 17+)")


async def _run(
    name: str,
    tmp_path: Path,
    *,
    deals: int,
    seed: int,
    down_s: float | None,
    rate: float | None = 50,
) -> Verdict:
    """`rate` None paces publishing to outlast the scenario's faults (the CLI's default)."""
    _needs_launcher()
    opts = RunOptions(
        scenario=SCENARIOS[name].with_down_s(down_s),
        deals=deals,
        seed=seed,
        home=tmp_path,
        rate=rate,
    )
    return await run_chaos(opts)


def _assert_passed(v: Verdict, *, work_left_after_faults: bool = True) -> None:
    assert v.duplicate_keys == 0, v
    assert v.lost_commands == 0, v
    assert v.unfinished == 0, v
    assert v.states_equal_reference, v.state_differences
    assert v.passed
    if v.effects_missing is not None:
        # The platforms sat behind the adapters: every command took effect exactly once,
        # and the outage really made them wait (failed attempts, an open circuit, a tier).
        assert v.effects_missing == 0 and v.duplicate_effects == 0, v
        assert v.adapter_errors == [], v.adapter_errors
        assert v.adapter_counts["attempts failed"] > 0, v.adapter_counts
        assert v.adapter_counts["dead-lettered"] == 0, v.adapter_counts
    if work_left_after_faults:
        # The first fault was followed by committed commands again: the workers recovered
        # by themselves (none was restarted unless the scenario itself restarts it). With
        # three brokers the work may well be done before the lost broker is back.
        assert all(f.recovered_at is not None for f in v.faults[:1]), v.faults


@pytest.mark.parametrize("name", ONE_BROKER)
async def test_one_broker_scenario_short(name: str, tmp_path: Path) -> None:
    _assert_passed(await _run(name, tmp_path, deals=15, seed=3, down_s=6))


@pytest.mark.cluster
@pytest.mark.parametrize("name", THREE_BROKERS)
async def test_three_broker_scenario_short(name: str, tmp_path: Path) -> None:
    _assert_passed(
        await _run(name, tmp_path, deals=15, seed=4, down_s=6), work_left_after_faults=False
    )


@pytest.mark.cluster
async def test_all_short(tmp_path: Path) -> None:
    # Ten faults one after another: at a fixed 50 ev/s the deals were done before the
    # platform outage, which then had nothing to hold up; paced, every fault meets work.
    _assert_passed(
        await _run("all", tmp_path, deals=15, seed=4, down_s=6, rate=None),
        work_left_after_faults=False,
    )


@pytest.mark.long
@pytest.mark.parametrize("seed", [11, 12, 13])
@pytest.mark.parametrize("name", ONE_BROKER + THREE_BROKERS + MIXED)
async def test_scenario_long(name: str, seed: int, tmp_path: Path) -> None:
    verdict = await _run(name, tmp_path, deals=200, seed=seed, down_s=None)
    _assert_passed(verdict, work_left_after_faults=name in ONE_BROKER)


def test_cli_prints_the_verdict_as_json(tmp_path: Path) -> None:
    _needs_launcher()
    result = CliRunner().invoke(
        app,
        [
            "chaos",
            "run",
            "worker-kill",
            "--deals",
            "3",
            "--seed",
            "5",
            "--home",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout[result.stdout.index("{") :])
    assert figures["passed"] is True
    assert figures["duplicate_keys"] == 0 and figures["lost_commands"] == 0
    assert [f["label"] for f in figures["faults"]] == [
        f.label for f in SCENARIOS["worker-kill"].expand()
    ]


def test_cli_names_an_unknown_scenario() -> None:
    result = CliRunner().invoke(app, ["chaos", "run", "meteor-strike"])
    assert result.exit_code == 2
    assert "unknown scenario 'meteor-strike'; known:" in result.output
