"""/metrics after a small run agrees with what happened: events applied, commands, sagas."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.observability_support import (
    EngineThread,
    all_completed,
    deals,
    demo_events,
)

pytestmark = pytest.mark.kafka
DEALS = 5

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(engine: EngineThread) -> Samples:
    text = engine.get("/metrics", token=None)
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def total(samples: Samples, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


@pytest.fixture(scope="module")
def engine(kafka_bootstrap: str) -> Iterator[EngineThread]:
    thread = EngineThread(kafka_bootstrap)
    try:
        thread.start()
        yield thread
    finally:
        thread.stop()


def test_metrics_agree_with_the_run(engine: EngineThread) -> None:
    # The registry is process-wide (other tests' engines count too): compare deltas.
    before = scrape(engine)
    master, history = demo_events(deals(DEALS))
    engine.publish(master)
    published = engine.publish(history)
    overview = engine.wait_for("/api/v1/overview", all_completed(DEALS))
    assert overview["by_state"]["quote-to-cash"] == {"completed": DEALS}

    def gauge_settled(samples: Samples) -> bool:
        return total(samples, "q2c_sagas", saga_type="quote-to-cash", state="completed") == DEALS

    after = scrape(engine)
    for _ in range(20):  # the worker refreshes its gauges every ~2 s
        if gauge_settled(after):
            break
        engine.call(_sleep(0.5))
        after = scrape(engine)

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    # Every published deal event, plus one account-validated per deal from the validator.
    assert delta("q2c_records_processed_total") == published + DEALS
    assert delta("q2c_records_processed_total", event_type="closed-won") == DEALS
    assert delta("q2c_records_processed_total", event_type="payment-received") == 2 * DEALS
    assert delta("q2c_commands_emitted_total", command_type="issue-invoice") == 2 * DEALS
    assert delta("q2c_commands_emitted_total", command_type="validate-account") == DEALS
    assert delta("q2c_cycle_time_seconds_count", cycle="invoice_to_payment") == 2 * DEALS
    assert delta("q2c_cycle_time_seconds_count", cycle="closed_won_to_activation") == DEALS
    assert delta("q2c_records_dead_lettered_total") == 0
    assert gauge_settled(after)
    assert total(after, "q2c_state_store_sagas") >= DEALS


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
