"""Chaos scenarios as data, the seeded workload and the verdict (no broker)."""

from __future__ import annotations

import os
import signal
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.chaos.processes import NotOurs, OwnProcesses
from engine.chaos.scenarios import SCENARIOS, Action, Fault, Scenario, Target, scenario
from engine.chaos.verdict import FaultTiming, judge, longest_gap
from engine.chaos.workload import build_workload
from engine.localkafka.cluster import LocalCluster

BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_every_scenario_is_valid_and_names_itself() -> None:
    assert {"worker-kill", "single-broker-restart", "broker-pause", "rebalance-storm"} <= set(
        SCENARIOS
    )
    assert {"broker-kill", "rolling-restart", "controller-kill"} <= set(SCENARIOS)
    assert {"adapter-outage", "all"} <= set(SCENARIOS)
    for name, s in SCENARIOS.items():
        assert s.name == name and s.expand()


def test_rolling_restart_expands_to_every_broker_in_turn() -> None:
    faults = SCENARIOS["rolling-restart"].expand()
    assert [f.node for f in faults] == [1, 2, 3]
    assert [f.at for f in faults] == sorted(f.at for f in faults)
    assert all(f.action is Action.STOP_BROKER for f in faults)


def test_quorum_targets_need_three_brokers() -> None:
    with pytest.raises(ValueError, match="3-broker"):
        Scenario(
            "x",
            "",
            brokers=1,
            workers=1,
            faults=(Fault(Action.KILL_BROKER, 0.3, 5, Target.CONTROLLER),),
        )
    with pytest.raises(ValueError, match="kill-worker: target controller is not one of any"):
        Fault(Action.KILL_WORKER, 0.3, target=Target.CONTROLLER)
    with pytest.raises(ValueError, match="platform-down: target any is not one of busiest-target"):
        Fault(Action.PLATFORM_DOWN, 0.3, 60)
    with pytest.raises(ValueError, match="unknown scenario 'nope'; known: adapter-outage, all"):
        scenario("nope")


def test_all_mixes_one_fault_of_every_other_scenario_in_order() -> None:
    mixed = SCENARIOS["all"]
    others = [s for name, s in SCENARIOS.items() if name != "all"]
    assert mixed.brokers == 3
    assert [f.action for f in mixed.faults] == [s.faults[0].action for s in others]
    assert [f.target for f in mixed.faults] == [s.faults[0].target for s in others]
    ats = [f.at for f in mixed.expand()]
    assert ats == sorted(ats) and ats[0] >= 0.05 and ats[-1] < 0.9
    # rolling-restart's "each broker" still becomes one stop per node inside the mix.
    assert [f.node for f in mixed.expand() if f.node is not None] == [1, 2, 3]


def test_adapter_outage_takes_the_busiest_platform_down_for_minutes() -> None:
    (fault,) = SCENARIOS["adapter-outage"].faults
    assert fault.action is Action.PLATFORM_DOWN and fault.target is Target.BUSIEST_TARGET
    assert fault.down_s >= 60
    assert SCENARIOS["adapter-outage"].with_down_s(5).faults[0].down_s == 5


def test_down_override_changes_outages_only() -> None:
    storm = SCENARIOS["rebalance-storm"].with_down_s(9)
    assert [f.down_s for f in storm.faults] == [0, 0, 0, 9, 0]


@settings(deadline=None, max_examples=30)
@given(st.integers(min_value=1, max_value=12), st.integers(min_value=0, max_value=10_000))
def test_the_workload_keeps_each_deals_order_and_is_seeded(deals: int, seed: int) -> None:
    one = build_workload(deals, seed, BASE)
    assert one == build_workload(deals, seed, BASE)
    ids = [e.envelope.event_id for e in one.events]
    assert len(ids) == len(set(ids))
    # closed-won comes first for each deal (its other events name it or its project).
    firsts: Counter[str] = Counter()
    seen: set[str] = set()
    for event in one.events:
        deal = getattr(event, "deal_id", None)
        if event.envelope.event_type == "closed-won":
            seen.add(str(deal))
            firsts[str(deal)] += 1
        elif deal is not None:
            assert deal in seen
    assert len(firsts) == deals


def _verdict(final: dict[tuple[str, str], str], keys: list[str], expected: set[str]):  # type: ignore[no-untyped-def]
    return judge(
        scenario="s",
        seed=1,
        deals=2,
        final=final,
        reference={("quote-to-cash", "a"): "completed", ("quote-to-cash", "b"): "completed"},
        command_keys=keys,
        expected_keys=expected,
        dead_letter_causes=["DecodeError", "DecodeError", "ValidationError"],
        faults=(FaultTiming("f", 10.0, 20.0, 24.5, 14.5),),
    )


def test_verdict_passes_only_without_loss_duplicates_or_differences() -> None:
    good = {("quote-to-cash", "a"): "completed", ("quote-to-cash", "b"): "completed"}
    v = _verdict(good, ["k1", "k2"], {"k1", "k2"})
    assert (
        v.passed and v.completed == 2 and v.dead_letters == {"DecodeError": 2, "ValidationError": 1}
    )
    assert v.faults[0].recover_s == pytest.approx(4.5)
    assert v.as_json()["faults"][0]["recover_s"] == pytest.approx(4.5)
    assert not _verdict(good, ["k1", "k2", "k2"], {"k1", "k2"}).passed  # a duplicate
    lost = _verdict(good, ["k1"], {"k1", "k2"})
    assert lost.lost_commands == 1 and not lost.passed
    stuck = _verdict({**good, ("quote-to-cash", "b"): "invoicing"}, ["k1", "k2"], {"k1", "k2"})
    assert stuck.unfinished == 1 and not stuck.states_equal_reference and not stuck.passed
    assert stuck.state_differences == ["quote-to-cash/b: invoicing != completed"]


def test_verdict_counts_platform_effects_missing_or_applied_twice() -> None:
    good = {("quote-to-cash", "a"): "completed", ("quote-to-cash", "b"): "completed"}

    def with_effects(effects: dict[str, int], errors: list[str] | None = None):  # type: ignore[no-untyped-def]
        return judge(
            scenario="s",
            seed=1,
            deals=2,
            final=good,
            reference=good,
            command_keys=["k1", "k2"],
            expected_keys={"k1", "k2"},
            dead_letter_causes=[],
            faults=(),
            effects=Counter(effects),
            adapter_errors=errors,
        )

    ok = with_effects({"k1": 1, "k2": 1})
    assert ok.passed and ok.effects_missing == 0 and ok.duplicate_effects == 0
    missing = with_effects({"k1": 1})
    assert missing.effects_missing == 1 and not missing.passed
    twice = with_effects({"k1": 1, "k2": 2})
    assert twice.duplicate_effects == 1 and not twice.passed
    assert not with_effects({"k1": 1, "k2": 1}, ["crm: KafkaError()"]).passed
    # Without adapters in front of the platforms the figures are not there at all.
    assert _verdict(good, ["k1", "k2"], {"k1", "k2"}).effects_missing is None


def test_longest_gap_between_arrivals() -> None:
    assert longest_gap([1.0, 2.0, 7.0, 8.0], 0.0, 10.0) == 5.0
    assert longest_gap([], 3.0, 4.5) == 1.5


def test_faults_refuse_processes_the_run_did_not_start(tmp_path: Path) -> None:
    cluster = LocalCluster(name="c", directory=tmp_path, nodes=[], pids={1: 999_999})
    procs = OwnProcesses(cluster, env={}, log_dir=tmp_path)
    with pytest.raises(NotOurs, match=f"pid {os.getpid()} was not started by this run"):
        procs.signal(os.getpid(), signal.SIGSTOP)
    with pytest.raises(NotOurs):
        procs.pause_broker(2)


def test_the_active_controller_is_the_latest_raft_leader_still_running(tmp_path: Path) -> None:
    from engine.chaos.runner import active_controller

    cluster = LocalCluster(name="c", directory=tmp_path, nodes=[], pids={})
    line = "[2026-12-01 23:{}] INFO [RaftManager id={}] Completed transition to Leader(localVoterNode=..."
    cluster.log_file(1).write_text(line.format("48:37,971", 1) + "\n")
    cluster.log_file(2).write_text(
        "[2026-12-01 23:48:30,000] INFO [RaftManager id=2] Completed transition to Follower(...\n"
    )
    cluster.log_file(3).write_text(line.format("49:08,017", 3) + "\n")
    assert active_controller(cluster, [1, 2, 3]) == 3
    assert active_controller(cluster, [1, 2]) == 1  # node 3 is down: the earlier leader
