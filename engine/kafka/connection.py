"""Resolves where Kafka is (external cluster or the local launcher) and client security options."""

from __future__ import annotations

from typing import Any

from engine.kafka.security import security_options
from engine.localkafka import load_cluster
from engine.settings import SecurityProtocol, Settings


class NoBrokerError(RuntimeError):
    """No bootstrap servers are configured and no local broker is running."""


def resolve_bootstrap(settings: Settings) -> str:
    """`Q2C_BOOTSTRAP_SERVERS` when set, else the running local cluster's address."""
    if settings.bootstrap_servers:
        return settings.bootstrap_servers
    cluster = load_cluster(settings.local_cluster)
    if cluster is None or not cluster.running_nodes():
        raise NoBrokerError(
            "no Kafka: set Q2C_BOOTSTRAP_SERVERS, or start the local broker with `q2c kafka start`"
        )
    if cluster.secure and settings.security_protocol is SecurityProtocol.PLAINTEXT:
        raise NoBrokerError(
            f"the local broker {cluster.name!r} is secured: set the Q2C_SECURITY_PROTOCOL, "
            "Q2C_SSL_CAFILE and Q2C_SASL_* settings `q2c kafka start --secure` printed"
        )
    return cluster.bootstrap_servers


def client_options(settings: Settings) -> dict[str, Any]:
    """Connection options shared by every producer, consumer and admin client."""
    return {"bootstrap_servers": resolve_bootstrap(settings), **security_options(settings)}
