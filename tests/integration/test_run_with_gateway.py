"""`q2c run --with-gateway` on the real broker: one worker process serves the webhook
gateway and runs the translator beside the saga worker; a NetSuite webhook posted to it
moves a quote-to-cash saga, and SIGTERM stops all three cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from engine.workload.histories import HistoryOptions, closed_won, master_data
from tests.cli_support import free_port
from tests.connector_cases import all_cases
from tests.integration.engine_support import engine_settings, publish_all
from tests.integration.gateway_support import NETSUITE_SECRET, signed_post, wait_state
from tests.integration.worker_proc import WorkerProcess

pytestmark = pytest.mark.kafka


async def _wait_up(client: httpx.AsyncClient, worker: WorkerProcess) -> None:
    for _ in range(120):
        assert worker.alive(), worker.log_tail()
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.5)
    raise AssertionError(f"gateway did not come up:\n{worker.log_tail()}")


async def test_a_webhook_posted_to_a_worker_with_gateway_drives_a_saga(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    settings = await engine_settings(kafka_bootstrap, unique)
    deal = f"RWG-{unique}"
    await publish_all(settings, [*master_data([deal]), closed_won(deal, HistoryOptions())])
    case = next(c for c in all_cases() if c.name == "netsuite/job-created")
    body = case.body_path.read_bytes().replace(b"deal-7", deal.encode())
    port = free_port()
    worker = WorkerProcess(
        settings,
        "rwg-1",
        tmp_path,
        args=("--with-gateway", "--no-http"),
        env={
            "Q2C_CONNECTOR_GATEWAY_PORT": str(port),
            "Q2C_CONNECTOR_NETSUITE_HMAC_SECRET": NETSUITE_SECRET,
        },
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await _wait_up(client, worker)
            await wait_state(settings, deal, "creating_project")
            path, raw, headers = signed_post(case, body)
            assert (await client.post(path, content=raw, headers=headers)).status_code == 200
            state = await wait_state(settings, deal, "awaiting_activation")
        assert state.data["project_id"]
        assert worker.terminate() == 0, worker.log_tail()
    finally:
        worker.kill()
    log = worker.log_path.read_text(errors="replace")
    assert "gateway listening on" in log
