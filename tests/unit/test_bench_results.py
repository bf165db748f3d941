"""Ratios and the JSON shape of `q2c bench --json`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from engine.bench.growth import openings
from engine.bench.latency import latencies_ms
from engine.bench.profile import is_idle, stage_costs
from engine.bench.results import (
    BenchResult,
    GrowthPoint,
    MemoryResult,
    RestoreResult,
    SystemResult,
    mode_ratios,
    to_json,
)
from engine.bench.stats import summarize_latencies
from engine.bench.sweep import SweepPoint
from engine.bench.targets import TARGETS
from engine.workload.histories import HistoryOptions


def _sys(name: str, mode: str, eps: float, p99_base: float, cpu: float) -> SystemResult:
    lat = summarize_latencies([p99_base / 2, p99_base], 100.0)
    return SystemResult(name, mode, eps, cpu, 50.0, 1000, lat, lat)


def _result() -> BenchResult:
    r = BenchResult(quick=True, config={"measured_events": 1000})
    r.modes["exactly_once"] = {
        "engine": _sys("engine", "exactly_once", 300.0, 100.0, 1.0),
        "raw_pipe": _sys("raw_pipe", "exactly_once", 1000.0, 50.0, 0.1),
        "raw_pipe_txn": _sys("raw_pipe_txn", "exactly_once", 600.0, 50.0, 0.1),
        "faust": SystemResult("faust", "exactly_once", error="ImportError: no faust"),
    }
    r.modes["at_least_once"] = {
        "engine": _sys("engine", "at_least_once", 400.0, 100.0, 1.0),
        "raw_pipe": _sys("raw_pipe", "at_least_once", 1000.0, 50.0, 0.1),
        "faust": _sys("faust", "at_least_once", 200.0, 200.0, 2.0),
    }
    at_100 = summarize_latencies([10.0, 20.0], 100.0)
    r.modes["exactly_once"]["engine"].sweep = [
        SweepPoint(100.0, at_100),
        SweepPoint(2000.0, skipped="x"),
    ]
    r.modes["exactly_once"]["raw_pipe_txn"].sweep = [
        SweepPoint(100.0, summarize_latencies([5.0], 100.0))
    ]
    r.memory = MemoryResult(1500.0, 3000, 100_000, 1800.0)
    r.restore = RestoreResult(records=1000, seconds=0.5, setup_seconds=0.1)
    return r


def test_ratios_compare_the_engine_with_each_baseline() -> None:
    eos = mode_ratios(_result().modes["exactly_once"])
    assert eos["ratio_to_raw_pipe"] == pytest.approx(0.3)
    assert eos["ratio_to_raw_pipe_txn"] == pytest.approx(0.5)
    assert eos["ratio_to_faust"] is None  # a failed baseline gives no ratio, not a fake one
    assert eos["ahead_of_faust"] is False
    alo = mode_ratios(_result().modes["at_least_once"])
    assert alo["ratio_to_raw_pipe"] == pytest.approx(0.4)
    assert alo["ratio_to_faust"] == pytest.approx(2.0)
    assert alo["p99_half_saturation_ratio_to_faust"] == pytest.approx(0.5)
    assert alo["ahead_of_faust"] is True


def test_json_has_every_field_and_is_serializable() -> None:
    doc = json.loads(json.dumps(to_json(_result())))
    for mode in ("exactly_once", "at_least_once"):
        assert {
            "systems",
            "ratio_to_raw_pipe",
            "ratio_to_faust",
        } <= set(doc[mode])
        engine = doc[mode]["systems"]["engine"]
        for key in ("throughput_eps", "cpu_seconds_per_1k_events", "peak_rss_mb"):
            assert isinstance(engine[key], float)
        for phase in ("latency_fixed", "latency_half_saturation"):
            assert set(engine[phase]) == {"count", "p50_ms", "p99_ms", "max_ms", "offered_eps"}
    assert "ratio_to_raw_pipe_txn" in doc["exactly_once"]
    assert doc["exactly_once"]["sweep_p99_ratio_to_raw_pipe_txn"] == {
        "100": pytest.approx(19.9 / 5)
    }
    assert [p["offered_eps"] for p in doc["exactly_once"]["systems"]["engine"]["sweep"]] == [
        100,
        2000,
    ]
    assert "sweep_p99_ratio_to_raw_pipe" not in doc["at_least_once"]  # nothing swept there
    assert "ratio_to_raw_pipe_txn" not in doc["at_least_once"]
    assert doc["exactly_once"]["systems"]["faust"]["error"].startswith("ImportError")
    assert doc["memory"]["extrapolated"] is True
    assert doc["restore"]["records_per_s"] == pytest.approx(2000.0)


def test_targets_read_their_figures_and_say_which_were_not_measured() -> None:
    checks = {c["target"]: c for c in to_json(_result())["targets"]}
    assert len(checks) == len(TARGETS)
    # EOS is compared with the transactional pipe (0.5 >= 0.30), not the plain one (0.3).
    eos = checks["EOS throughput vs transactional raw pipe"]
    assert (eos["value"], eos["met"]) == (pytest.approx(0.5), True)
    assert checks["ALO throughput vs raw pipe"]["met"] is True  # 0.40 >= 0.40
    assert checks["ALO p99 at the fixed load"]["met"] is False  # 100 ms vs 50 ms: 2.0 > 1.5
    assert checks["EOS throughput vs faust"]["met"] is None  # faust failed: not measured
    assert checks["restore records/s"]["met"] is False  # 2,000 < 100,000
    assert checks["store bytes per active saga"]["met"] is False  # 1,500 > 1,024


def test_latencies_match_sent_events_to_their_outputs() -> None:
    sent = {"e1": 1000, "e2": 2000, "e3": 3000}
    arrived = {"e1": 1005.0, "e3": 3100.0, "other": 1.0}
    assert sorted(latencies_ms(sent, arrived)) == [5.0, 100.0]


def test_idle_functions_are_the_selector_waits() -> None:
    assert is_idle("epoll.poll") and is_idle("select")
    assert not is_idle("step") and not is_idle("_poll_batch")


def test_cost_growth_compares_the_largest_store_with_the_smallest() -> None:
    r = _result()
    r.growth = [
        GrowthPoint(1_000, _sys("engine", "exactly_once", 2000.0, 10.0, 0.40)),
        GrowthPoint(10_000, SystemResult("engine", "exactly_once", error="TimeoutError: x")),
        GrowthPoint(100_000, _sys("engine", "exactly_once", 1600.0, 10.0, 0.60)),
    ]
    doc = to_json(r)
    growth = doc["cost_growth"]
    assert [p["active_sagas"] for p in growth["points"]] == [1_000, 10_000, 100_000]
    assert growth["points"][1]["error"].startswith("TimeoutError")  # shown, not skipped
    assert growth["cpu_growth_ratio"] == pytest.approx(1.5)
    assert growth["throughput_growth_ratio"] == pytest.approx(0.8)
    [check] = [c for c in doc["targets"] if c["figure"] == "cost_growth.cpu_growth_ratio"]
    assert check["met"] is False  # 1.5 > 1.25


def test_openings_open_one_waiting_saga_per_deal() -> None:
    opts = HistoryOptions(base_time=datetime(2026, 1, 1, tzinfo=UTC))
    records = openings("r1", 3, opts)
    keys = {r.key for r in records}
    assert len(records) == 6 and len(keys) == 3  # closed-won + account-validated per deal
    assert len({r.event_id for r in records}) == 6


class _Frame:
    """The parts of a pyinstrument frame the profile summary reads."""

    def __init__(
        self, function: str, path: str, own: float, children: tuple[_Frame, ...] = ()
    ) -> None:
        self.function, self.file_path_short = function, path
        self.total_self_time, self.children, self.is_synthetic = own, children, False
        self.time: float = own + sum(c.time for c in children)


def test_stage_costs_add_busy_time_below_each_stage_and_leave_out_waits() -> None:
    decode = _Frame("_decode", "engine/runtime/processor.py", 2.0)
    handle = _Frame("handle", "engine/runtime/processor.py", 1.0, (decode,))
    send = _Frame("send_all", "engine/kafka/client.py", 3.0)
    commit = _Frame("commit", "engine/runtime/checkpoint.py", 0.5, (send,))
    idle = _Frame("poll", "selectors.py", 10.0)  # the event loop waiting: not busy
    root = _Frame("run", "engine/runtime/worker.py", 0.25, (handle, commit, idle))
    stages = stage_costs(root)
    assert stages["decode"] == 2.0 and stages["handle"] == 3.0
    assert stages["send"] == 3.0 and stages["commit"] == 3.5
    assert stages["commit_other"] == 0.5
    assert stages["other"] == 0.25
    assert stages["poll"] == 0.0  # selectors' poll is not the consumer's


def test_scale_out_is_compared_with_one_workers_drain() -> None:
    r = _result()
    r.scale_out = _sys("engine", "exactly_once", 450.0, 100.0, 1.1)
    doc = to_json(r)["scale_out"]
    assert doc["workers"] == 2
    assert doc["throughput_ratio_to_one_worker"] == pytest.approx(1.5)  # 450 / 300
    r.scale_out = SystemResult("engine", "exactly_once", error="RuntimeError: engine exited")
    assert to_json(r)["scale_out"]["throughput_ratio_to_one_worker"] is None


def test_the_fanout_ceiling_is_the_fanout_pipe_over_the_modes_raw_pipe() -> None:
    r = _result()
    r.modes["exactly_once"]["raw_pipe_fanout"] = _sys(
        "raw_pipe_fanout", "exactly_once", 150.0, 50.0, 0.5
    )
    r.modes["at_least_once"]["raw_pipe_fanout"] = SystemResult(
        "raw_pipe_fanout", "at_least_once", error="TimeoutError"
    )
    doc = to_json(r)
    # Exactly-once compares with the transactional raw pipe (600 events/s), not the plain one.
    assert doc["exactly_once"]["raw_pipe_fanout_ratio_to_baseline"] == pytest.approx(0.25)
    assert doc["exactly_once"]["ratio_to_raw_pipe_fanout"] == pytest.approx(2.0)
    assert doc["at_least_once"]["raw_pipe_fanout_ratio_to_baseline"] is None
    assert "raw_pipe_fanout_ratio_to_baseline" not in to_json(_result())["exactly_once"]
