"""Sagas that never started (made-up correlation ids) expire by the retention rule, with a
changelog tombstone and a metric; a started saga is left alone (real broker)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import Counter

from engine.contracts import Event
from engine.observability import metrics
from engine.runtime.app import Engine
from engine.runtime.store import StoreKey
from engine.saga.model import SagaState
from engine.sagas import is_finished
from engine.workload.histories import HistoryOptions, deal_history, master_data
from tests.integration.engine_support import engine_settings, publish_all, wait_for_states
from tests.integration.engine_support import states as read_states
from tests.integration.test_engine_failure_paths import FakeClock

pytestmark = pytest.mark.kafka

FAKES = ("FAKE-1", "FAKE-2", "FAKE-3")


def _made_up_reply(correlation_id: str, base: datetime) -> Event:
    """A valid project-activated reply that names a saga nobody started."""
    history = deal_history(correlation_id, HistoryOptions(base_time=base))
    (reply,) = [e for e in history if e.envelope.event_type == "project-activated"]
    envelope = reply.envelope.model_copy(update={"correlation_id": correlation_id})
    return reply.model_copy(update={"envelope": envelope})


def _total(counter: Counter) -> float:
    """A counter's value summed over its labels."""
    return sum(
        sample.value
        for family in counter.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    )


async def test_sagas_that_never_started_expire_with_a_tombstone(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique, pending_retention_s=3600.0)
    base = datetime.now(UTC)
    real = deal_history("R-1", HistoryOptions(base_time=base))[:1]  # closed-won: it starts
    await publish_all(settings, [*master_data(["R-1"]), *real])
    await publish_all(settings, [_made_up_reply(c, base) for c in FAKES])
    clock = FakeClock(base)
    before = _total(metrics.PENDING_EXPIRED)
    engine = Engine(settings, clock=clock, worker_id="expiry", http=False)
    await engine.start()
    try:

        def fakes_pending(states: dict[StoreKey, SagaState]) -> bool:
            fakes = {k: s.state for (_t, k), s in states.items() if k in FAKES}
            return set(fakes) == set(FAKES) and set(fakes.values()) == {"pending"}

        def real_started(states: dict[StoreKey, SagaState]) -> bool:
            return any(k == "R-1" and s.state != "pending" for (_t, k), s in states.items())

        # The real deal and the fakes sit on different partitions: wait for both, not the
        # first one to arrive (CI once read the changelog before R-1's saga was in it).
        seen = await wait_for_states(
            settings, lambda states: fakes_pending(states) and real_started(states), timeout_s=120
        )
        assert fakes_pending(seen), seen
        pending_sagas = sum(1 for (_t, k) in seen if k in FAKES)
        started = {key: s.state for key, s in seen.items() if key[1] == "R-1"}
        assert started and "pending" not in started.values()

        clock.now = base + timedelta(hours=2)  # past the retention, no event since
        after = await wait_for_states(
            settings, lambda states: not any(k in FAKES for (_t, k) in states), timeout_s=120
        )
    finally:
        await engine.stop()
    # Gone from the changelog read to its end: only a tombstone removes a compacted key.
    assert not any(k in FAKES for (_t, k) in after), after
    # The deal that started goes on (its saga may have moved since): it is not expired.
    assert {key for key in after if key[1] == "R-1"} == set(started)
    assert _total(metrics.PENDING_EXPIRED) - before == pending_sagas


async def test_finished_sagas_expire_after_the_retention_running_ones_stay(
    kafka_bootstrap: str, unique: str
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique, finished_retention_s=3600.0)
    base = datetime.now(UTC)
    opts = HistoryOptions(base_time=base)
    await publish_all(settings, master_data(["F-1", "R-2"]))
    await publish_all(settings, [*deal_history("F-1", opts), *deal_history("R-2", opts)[:1]])
    clock = FakeClock(base)
    before = _total(metrics.FINISHED_EXPIRED)
    engine = Engine(settings, clock=clock, worker_id="finished", http=False)
    await engine.start()
    try:

        def settled(states: dict[StoreKey, SagaState]) -> bool:
            mine = {(t, k): s.state for (t, k), s in states.items() if k in ("F-1", "R-2")}
            return mine.get(("quote-to-cash", "F-1")) == "completed" and any(
                k == "R-2" and s not in ("pending", "completed") for (_t, k), s in mine.items()
            )

        seen = await wait_for_states(settings, settled, timeout_s=120)
        assert settled(seen), seen
        finished = {key for key, s in seen.items() if is_finished(key[0], s.state)}
        assert ("quote-to-cash", "F-1") in finished
        # R-2's time-and-expense saga ends at once ("not_applicable": a milestone deal), so it
        # expires like any finished saga; its quote-to-cash saga is running and stays.
        assert ("quote-to-cash", "R-2") not in finished

        clock.now = base + timedelta(minutes=30)  # within the retention: nothing goes
        await asyncio.sleep(3.0)  # the expiry runs once a second
        assert finished <= set(await read_states(settings))

        correlation = engine.worker.processor.correlation
        learnt, running = correlation.keys_of("F-1"), correlation.keys_of("R-2")
        assert learnt  # F-1's project id and invoice references route its replies
        clock.now = base + timedelta(hours=2)  # past the retention, no event since
        after = await wait_for_states(
            settings, lambda states: not (finished & set(states)), timeout_s=120
        )
        # Every saga of F-1 is gone, so are its ids: tombstoned, and read back as such.
        assert not {k for k in after if k[1] == "F-1"}, after
        for _ in range(100):
            if not correlation.keys_of("F-1"):
                break
            await asyncio.sleep(0.1)
        assert correlation.keys_of("F-1") == []
        assert all(correlation.get(*key.split(":", 1)) is None for key in learnt)
        assert correlation.keys_of("R-2") == running  # R-2 runs on: its ids stay
    finally:
        await engine.stop()
    assert not (finished & set(after)), after  # tombstoned: gone from the changelog read
    assert ("quote-to-cash", "R-2") in after  # the running saga stays
    assert _total(metrics.FINISHED_EXPIRED) - before == len(finished)
