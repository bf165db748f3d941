"""Resolves where Kafka is (external cluster or the local launcher) and client security options."""

from __future__ import annotations

from typing import Any

from engine.localkafka import load_cluster
from engine.settings import Settings


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
    return cluster.bootstrap_servers


def client_options(settings: Settings) -> dict[str, Any]:
    """Connection options shared by every producer, consumer and admin client."""
    opts: dict[str, Any] = {
        "bootstrap_servers": resolve_bootstrap(settings),
        "security_protocol": settings.security_protocol.value,
    }
    if settings.sasl_mechanism:
        opts["sasl_mechanism"] = settings.sasl_mechanism
        opts["sasl_plain_username"] = settings.sasl_username
        opts["sasl_plain_password"] = settings.sasl_password
    return opts
