"""Store memory per active saga, and the store's restore rate from its changelog.

Memory: one realistic active saga (closed-won and account-validated applied, so it holds the
contract, the account, timers, history and seen ids) is serialized once; N copies with distinct
deal ids (same-length ids substituted in the bytes, so sizes match) are restored into a
SagaStore, and the traced allocations before/after are divided by N. The store's decode cache
holds its bounded number of states whatever N is, so at 100,000 sagas the figure is dominated
by the changelog bytes the store keeps. Restore is what a worker
pays on assignment: `read_latest` of the changelog into a SagaStore, until the store can
serve; its indexes are timed apart (the worker builds them a slice per loop meanwhile).
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from datetime import UTC, datetime
from typing import Any

import psutil

from engine.bench.results import MemoryResult, RestoreResult
from engine.bench.workload import deal_events
from engine.kafka.client import read_latest, topic_partitions
from engine.runtime.store import SagaStore, changelog_key
from engine.runtime.translate import to_saga_event
from engine.runtime.worker import new_store
from engine.saga.engine import step
from engine.sagas import sagas_for_event
from engine.workload.histories import HistoryOptions

TEMPLATE_ID = "MEMDEAL-000000000"


def template_states(now: datetime) -> dict[str, bytes]:
    """Changelog bytes of every saga type an active deal has, by saga type."""
    states: dict[str, Any] = {}
    for model in deal_events(TEMPLATE_ID, HistoryOptions(base_time=now))[:2]:
        event = to_saga_event(model, TEMPLATE_ID)
        for definition in sagas_for_event(event.event_type):
            decision = step(definition, states.get(definition.name), event, now)
            states[definition.name] = decision.state
    store = new_store()  # encodes as the worker's stores do (with the cycle times)
    return {name: store.encode(state) for name, state in states.items()}


def filled_store(deals: int, templates: dict[str, bytes]) -> SagaStore:
    """A store restored with `deals` copies of the template sagas, each under its own deal id
    (same-length ids substituted in the bytes, so every copy has the template's size)."""
    template_key = TEMPLATE_ID.encode()
    store = new_store()
    for i in range(deals):
        deal = f"MEMDEAL-{i:09d}".encode()
        assert len(deal) == len(template_key)
        for saga_type, raw in templates.items():
            key = changelog_key((saga_type, deal.decode()))
            store.restore(key, raw.replace(template_key, deal))
    return store


def bytes_per_saga(count: int, target: int) -> MemoryResult:
    """Bytes of store memory per active saga instance, measured with `count` instances."""
    templates = template_states(datetime.now(UTC))
    gc.collect()
    rss_before = psutil.Process().memory_info().rss
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    # Records are made inside the traced window and dropped after their restore, as a
    # consumer's would be: what stays allocated is what the store keeps.
    store = filled_store(count, templates)
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = psutil.Process().memory_info().rss
    sagas = len(store)
    del store
    return MemoryResult(
        bytes_per_saga=(after - before) / max(sagas, 1),
        measured_sagas=sagas,
        target_sagas=target,
        rss_bytes_per_saga=max(0, rss_after - rss_before) / max(sagas, 1),
    )


async def restore_rate(options: dict[str, Any], state_topic: str) -> RestoreResult:
    """Restore the whole changelog topic into one SagaStore, timing the records' part."""
    parts = await topic_partitions(options, [state_topic])
    store = new_store()
    began = time.perf_counter()
    # As the worker restores a task: the last value per key gathered, then applied.
    latest = await read_latest(options, parts)
    store.restore_latest(latest.values)
    ended = time.perf_counter()
    store.index_restored()
    indexed = time.perf_counter()
    first = latest.first_record_at
    reading = ended - (first if first is not None else ended)
    count = latest.records
    return RestoreResult(
        records=count,
        seconds=reading,
        setup_seconds=(ended - began) - reading,
        index_seconds=indexed - ended,
    )
