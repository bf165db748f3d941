"""A broker of the test's own (the session's is shared): tests that stop, kill or freeze it."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from engine.localkafka import LocalCluster, start_cluster

# The broker looks for timed-out transactions every 10 s by default; tests shorten that so a
# transaction timeout of a few seconds takes effect promptly.
FAST_TXN_EXPIRY = {"transaction.abort.timed.out.transaction.cleanup.interval.ms": "1000"}


@contextmanager
def own_cluster(
    home: Path, nodes: int = 1, overrides: Mapping[str, str] | None = None
) -> Iterator[LocalCluster]:
    """Start a local cluster under `home`; stop every node by pid and delete it on exit."""
    if shutil.which("java") is None:
        pytest.skip("faults into the broker need the local launcher (Java 17+)")
    cluster = start_cluster(nodes, name="own", home=home, overrides=overrides)
    try:
        yield cluster
    finally:
        cluster.destroy()


async def restart(cluster: LocalCluster, node_id: int, *, kill: bool = False) -> None:
    """Stop one node (SIGTERM, or SIGKILL with `kill`) and start it again on its ports."""
    await asyncio.to_thread(cluster.stop_node, node_id, kill=kill)
    await start(cluster, node_id)


async def start(cluster: LocalCluster, node_id: int) -> None:
    cluster.start_node(node_id)
    await asyncio.to_thread(cluster.wait_ready)
