"""The demo's promises beyond the flow: same seed same summary, printed commands that work,
no silent sharing of a consumer group with a running worker."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import subprocess

import httpx
import pytest
from rich.console import Console

from engine.cli.demo import (
    DemoOptions,
    DemoResult,
    cycle_rows,
    demo_viewer_token,
    final_state_rows,
    inspect_commands,
    print_summary,
    reconciliation,
    run_demo,
)
from engine.kafka.client import Consumer
from engine.kafka.connection import KafkaConnection
from engine.kafka.groups import GroupBusyError, group_members
from engine.settings import Settings
from engine.topics import ensure_topics
from tests.integration.test_demo import SMALL as DEMO_TEST_OPTIONS

pytestmark = pytest.mark.kafka

# Ten deals, two of them bad; plain progress lines (the consoles below are no terminal).
SMALL = dataclasses.replace(DEMO_TEST_OPTIONS, deals=10, seed=11, bad_fraction=0.2, live=True)


def _settings(bootstrap: str, tag: str) -> Settings:
    return Settings(bootstrap_servers=bootstrap, topic_prefix=f"t{tag}.", group_id=f"g{tag}")


async def _run(settings: Settings, options: DemoOptions = SMALL) -> tuple[DemoResult, str]:
    out = io.StringIO()
    result = await run_demo(settings, options, console=Console(file=out, width=80))
    return result, out.getvalue()


async def test_same_seed_gives_the_same_summary(kafka_bootstrap: str, unique: str) -> None:
    first, progress = await _run(_settings(kafka_bootstrap, f"{unique}a"))
    second, _ = await _run(_settings(kafka_bootstrap, f"{unique}b"))

    assert first.unaccounted == [] and second.unaccounted == []
    assert final_state_rows(first) == final_state_rows(second)
    assert cycle_rows(first) == cycle_rows(second)
    assert (
        reconciliation(first)
        == reconciliation(second)
        == ("10 deals in = 8 completed + 2 exceptions + 0 cancelled + 0 unaccounted")
    )
    # Without a terminal the run still reports progress, one plain line at a time.
    assert "settled 10/10" in progress
    # Deals were not aged by the start-up: activation took the ERP's planned hours.
    activation = first.board.activation_times()
    assert len(activation) == 8
    assert all(0 < t.total_seconds() / 3600 <= 120 for t in activation)


async def test_status_page_and_printed_commands_work(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Set (empty) through monkeypatch, so the generated token is undone after the test.
    monkeypatch.setenv("Q2C_API_VIEWER_TOKENS", "")
    monkeypatch.setenv("Q2C_API_OPERATOR_TOKENS", "")
    token = demo_viewer_token()  # sets Q2C_API_VIEWER_TOKENS, read by the engine's HTTP side
    assert token
    settings = _settings(kafka_bootstrap, unique).model_copy(update={"http_port": 0})
    out = io.StringIO()
    options = dataclasses.replace(SMALL, viewer_token=token)
    run = asyncio.create_task(run_demo(settings, options, console=Console(file=out, width=80)))
    for _ in range(600):  # bounded: the engine is ready within seconds
        if "http://" in out.getvalue() or run.done():
            break
        await asyncio.sleep(0.1)
    url = next(w for w in out.getvalue().split() if w.startswith("http://"))
    assert f"viewer token: {token}" in out.getvalue()
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        assert "<html" in (await http.get("/")).text.lower()
        assert (await http.get("/api/v1/whoami")).status_code == 401
        who = await http.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        assert who.status_code == 200, who.text
    result = await run
    assert result.status_url == url
    lines = inspect_commands(result, settings)

    out = io.StringIO()
    print_summary(Console(file=out, width=40), result, settings)  # narrower than any command
    text = out.getvalue()
    for line in lines:
        assert f"  {line}\n" in text, line  # each printed whole, on its own line
    wide = io.StringIO()
    print_summary(Console(file=wide, width=80), result, settings)
    tables = wide.getvalue().split("Inspect afterwards:")[0]
    assert max(len(row) for row in tables.splitlines()) <= 80
    assert "deals in = " in tables and "activation SLA 72 h" in tables

    env = {k: v for k, v in os.environ.items() if not k.startswith("Q2C_")}
    script = "set -e\n" + "\n".join(lines) + "\n"
    done = await asyncio.to_thread(
        subprocess.run, ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    example = sorted(result.exceptions)[0]
    assert example in done.stdout  # sagas show and exceptions list both name it
    assert "exception" in done.stdout


async def test_demo_refuses_a_group_a_worker_is_in(kafka_bootstrap: str, unique: str) -> None:
    settings = _settings(kafka_bootstrap, unique)
    await ensure_topics(settings)
    options = KafkaConnection.from_settings(settings).options()
    worker = Consumer(options, group_id=settings.group_id)
    await worker.start()
    try:
        worker.subscribe([f"t{unique}.q2c.saga.inbox"], _noop, _noop)
        for _ in range(100):  # bounded: joining takes a few polls
            await worker.poll(timeout_ms=200)
            if await group_members(options, settings.group_id):
                break
        assert await group_members(options, settings.group_id) == 1
        with pytest.raises(GroupBusyError, match="Q2C_GROUP_ID"):
            await _run(settings)
    finally:
        await worker.stop()


async def _noop(_: object) -> None:
    return None
