"""Asks a broker for cluster metadata: the readiness test for a freshly started node."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiokafka import AIOKafkaClient


async def _metadata_brokers(bootstrap: str, timeout_s: float, security: dict[str, Any]) -> int:
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000), **security
    )
    try:
        await asyncio.wait_for(client.bootstrap(), timeout_s)
        return len(client.cluster.brokers())
    finally:
        await client.close()


def broker_answers_metadata(
    bootstrap: str,
    expected_brokers: int = 1,
    timeout_s: float = 3.0,
    security: dict[str, Any] | None = None,
) -> bool:
    """True when `bootstrap` answers a metadata request listing at least `expected_brokers`.

    `security`: aiokafka connection options (TLS context, SASL) for a secured broker.
    """
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # refused connections are expected while the JVM boots
    try:
        # A thread of its own: the caller may itself run inside an event loop (async tests).
        with ThreadPoolExecutor(max_workers=1) as pool:
            found = pool.submit(
                asyncio.run, _metadata_brokers(bootstrap, timeout_s, security or {})
            ).result()
        return found >= expected_brokers
    except Exception:
        return False
    finally:
        quiet.setLevel(level)
