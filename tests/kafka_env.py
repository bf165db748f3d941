"""Where the test suite's Kafka comes from: external cluster, testcontainers, or the local launcher."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def docker_answers() -> bool:
    """True only when a Docker engine (not just the client) responds."""
    if shutil.which("docker") is None:
        return False
    try:
        proc = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


@contextmanager
def kafka_for_tests(home: Path) -> Iterator[str]:
    """Yield a bootstrap address for the session; stop whatever was started here on exit."""
    external = os.environ.get("Q2C_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    if os.environ.get("Q2C_TEST_KAFKA", "auto") != "local" and docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    from engine.localkafka import start_cluster

    cluster = start_cluster(1, name="tests", home=home)
    try:
        yield cluster.bootstrap_servers
    finally:
        cluster.destroy()
