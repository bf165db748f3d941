"""`q2c connectors run` killed with SIGKILL mid-run: the restart redelivers, each effect stays single."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.contracts import ProjectCreated
from engine.emulators.base import CLIENT_ID, CLIENT_SECRET
from engine.emulators.netsuite import NetSuiteEmulator
from engine.runtime.names import TopicNames
from engine.settings import Settings
from tests.connectors.samples import create_project
from tests.connectors.test_on_kafka import dead_letters, events_on, produce
from tests.integration.engine_support import engine_settings

pytestmark = pytest.mark.kafka
DEALS = [f"K-{n:02d}" for n in range(60)]


def start_connectors(
    settings: Settings, ns: NetSuiteEmulator, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "Q2C_BOOTSTRAP_SERVERS": settings.bootstrap_servers or "",
        "Q2C_TOPIC_PREFIX": settings.topic_prefix,
        "Q2C_GROUP_ID": settings.group_id,
        "Q2C_NETSUITE_BASE_URL": ns.base_url,
        "Q2C_NETSUITE_TOKEN_URL": f"{ns.base_url}/oauth/token",
        "Q2C_NETSUITE_CLIENT_ID": CLIENT_ID,
        "Q2C_NETSUITE_CLIENT_SECRET": CLIENT_SECRET,
        "Q2C_NETSUITE_RATE_PER_S": "20",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", "connectors", "run", "--erp", "netsuite"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def wait_until(done: Callable[[], bool], timeout_s: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not done() and loop.time() < deadline:
        await asyncio.sleep(0.2)
    return done()


def stop(proc: subprocess.Popen[bytes], sig: int) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


async def test_sigkill_mid_run_then_restart_creates_each_project_once(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    log = tmp_path / "connectors.log"
    with NetSuiteEmulator().running() as ns:
        assert isinstance(ns, NetSuiteEmulator)
        await produce(settings, [create_project(d) for d in DEALS])
        first = start_connectors(settings, ns, log)
        try:
            started = await wait_until(lambda: ns.effects.count("create", "job") >= 15, 180)
        finally:
            stop(first, signal.SIGKILL)
        assert started, log.read_text()[-2000:]
        killed_at = ns.effects.count("create", "job")
        second = start_connectors(settings, ns, log)
        try:
            finished = await wait_until(lambda: ns.effects.count("create", "job") >= 60, 240)
            # Its replies are published before its offsets are committed: wait for them too.
            names = TopicNames(settings.topic_prefix)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            created: list[ProjectCreated] = []
            while loop.time() < deadline:
                replies = await events_on(settings, names.events("erp"))
                created = [r for r in replies if isinstance(r, ProjectCreated)]
                if {r.deal_id for r in created} >= set(DEALS):
                    break
                await asyncio.sleep(1)
        finally:
            stop(second, signal.SIGTERM)
        assert finished, log.read_text()[-2000:]
        jobs = ns.effects.of("create", "job")
        customers = ns.effects.count("create", "customer")
    assert killed_at < 60  # the kill really was mid-run
    assert sorted(e.key for e in jobs) == DEALS  # one job per command, none twice
    assert customers == 1  # every deal's account is the same customer
    assert {r.deal_id for r in created} == set(DEALS)
    # A redelivered command publishes the same event id again; sagas drop the repeat.
    assert len({r.envelope.event_id for r in created}) == len(DEALS)
    assert await dead_letters(settings, "erp") == 0
