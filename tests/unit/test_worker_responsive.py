"""A poll of costly records does not keep the event loop (and so /health) to itself."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest

from engine.kafka.records import InRecord, OutRecord
from engine.runtime import worker as worker_module
from engine.runtime.checkpoint import CommitPolicy
from engine.runtime.task import Task
from engine.runtime.worker import Worker
from engine.settings import Settings

RECORDS = 20
COST_S = 0.005  # each record holds the loop this long


def _slow_handle(task: Task, rec: InRecord, now: datetime) -> list[OutRecord]:
    time.sleep(COST_S)  # a huge state's decode and step, as the event loop sees it
    return []


@pytest.mark.parametrize("yields", [True, False])
def test_other_coroutines_run_while_a_batch_is_processed(
    monkeypatch: pytest.MonkeyPatch, yields: bool
) -> None:
    if not yields:  # the check that this test sees the difference
        monkeypatch.setattr(worker_module, "YIELD_EVERY_S", 3600.0)
    worker = Worker(Settings(bootstrap_servers="127.0.0.1:9", max_batch=RECORDS))
    task = Task(partition=0, producer=None)  # type: ignore[arg-type]
    task.checkpoint = worker._checkpoint(task)
    worker.tasks[0] = task
    monkeypatch.setattr(worker.processor, "handle", _slow_handle)
    records = [InRecord("t", 0, n, b"k", b"v", (), 0) for n in range(RECORDS)]

    async def scenario() -> int:
        turns = 0
        done = asyncio.Event()

        async def ticker() -> None:  # what uvicorn's /health handler needs: a turn
            nonlocal turns
            while not done.is_set():
                turns += 1
                await asyncio.sleep(0)

        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        turns = 0
        # A full poll under a long interval: staged, nothing due, no broker needed.
        worker._policy = CommitPolicy(interval_s=3600, max_records=10**6)
        await worker._process_batch(records)
        done.set()
        await tick
        return turns

    turns = asyncio.run(scenario())
    # 20 records x 5 ms = 100 ms of work: a turn at least every 10 ms means >= 5 turns.
    assert (turns >= RECORDS * COST_S / worker_module.YIELD_EVERY_S / 2) if yields else turns <= 1
    assert len(task.checkpoint.records) == RECORDS
