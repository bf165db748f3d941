"""Where Kafka is (external cluster or the local launcher) and how to connect: `KafkaConnection`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

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


class KafkaConnection(BaseModel):
    """One process's connection to Kafka, built once from settings at the composition root.

    Frozen and typed (the passwords are `SecretStr`, so neither a repr nor a log line shows
    them); `options()` renders the aiokafka keyword options every producer, consumer and admin
    client takes. The password file is read when options are rendered, so a rotated password is
    picked up by the next client, as before.
    """

    model_config = ConfigDict(frozen=True)

    bootstrap_servers: str
    security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_password_file: Path | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_key_password: SecretStr | None = None
    client_id: str = "q2c"

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaConnection:
        """Resolve the brokers and check the security settings now: an incomplete setting fails
        here, naming it, instead of at the first client."""
        copied = {name: getattr(settings, name) for name in cls.model_fields}
        connection = cls.model_validate(
            {**copied, "bootstrap_servers": resolve_bootstrap(settings)}
        )
        connection.options()
        return connection

    def options(self) -> dict[str, Any]:
        """aiokafka keyword options: bootstrap servers, protocol, TLS context, SASL credentials."""
        return {"bootstrap_servers": self.bootstrap_servers, **security_options(self)}
