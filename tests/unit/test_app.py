"""The composition root: one KafkaConnection per worker process; the gateway serves before Kafka."""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from engine.app import serve_gateway, worker_engine
from engine.connectors.settings import ConnectorSettings
from engine.settings import Settings

# Nothing listens there: neither process may need the broker to be built or to answer /health.
NO_BROKER = Settings(bootstrap_servers="127.0.0.1:1")


def test_the_worker_process_shares_one_connection() -> None:
    engine = worker_engine(NO_BROKER, worker_id="w-1", http=False)
    assert engine.worker.connection is engine.connection
    assert engine.connection.bootstrap_servers == "127.0.0.1:1"
    assert engine.worker.worker_id == "w-1"


async def test_the_gateway_serves_health_before_kafka_is_reachable() -> None:
    bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve_gateway(
            NO_BROKER.model_copy(update={"http_port": 0}),
            ConnectorSettings(store_timeout_s=1.0),
            "127.0.0.1",
            0,
            on_listening=bound.set_result,
        )
    )
    try:
        port = await asyncio.wait_for(bound, 30)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert (await client.get("/health")).status_code == 200
            assert (await client.get("/ready")).status_code == 503
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 30)
