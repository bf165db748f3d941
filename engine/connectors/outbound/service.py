"""Runs the outbound connectors: one `CommandRunner` per target over its chosen platforms.

    q2c connectors run --crm salesforce --erp netsuite --billing stripe

Each target (crm, erp, billing) reads its own command topic in its own consumer group, so a
platform that is down only delays its own target's commands. Replies go through one shared
`Publisher`; the runner commits a command only after its replies were acknowledged.

Each platform is configured from `Q2C_<PLATFORM>_*` variables (`PlatformSettings`), e.g.
`Q2C_NETSUITE_BASE_URL`, `Q2C_NETSUITE_TOKEN_URL`, `Q2C_NETSUITE_CLIENT_ID`,
`Q2C_NETSUITE_CLIENT_SECRET`, `Q2C_NETSUITE_RATE_PER_S`, `Q2C_STRIPE_API_KEY`. NetSuite's
token-based auth instead of OAuth 2.0: `Q2C_NETSUITE_ACCOUNT_ID`, `_CONSUMER_KEY`,
`_CONSUMER_SECRET`, `_TOKEN_ID`, `_TOKEN_SECRET`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.adapters.policy import RetryPolicy
from engine.adapters.runner import CommandRunner
from engine.connectors.certinia.outbound import CertiniaConnector
from engine.connectors.dynamics.outbound import DynamicsConnector
from engine.connectors.http import HttpConfig
from engine.connectors.netsuite.outbound import NetSuiteConnector
from engine.connectors.netsuite.tba import TokenBasedAuth
from engine.connectors.oracle.outbound import OracleConnector
from engine.connectors.outbound.connector import (
    Clock,
    ConnectorHandler,
    HttpConnector,
    OutboundConnector,
    utc_now,
)
from engine.connectors.salesforce.outbound import SalesforceConnector
from engine.connectors.sap.outbound import SapConnector
from engine.connectors.stripe.outbound import StripeConnector
from engine.kafka.connection import KafkaConnection
from engine.lifecycle import AsyncStartStop
from engine.publisher import Publisher
from engine.settings import Settings

TBA_FIELDS = ("account_id", "consumer_key", "consumer_secret", "token_id", "token_secret")
FACTORIES: dict[str, type[HttpConnector]] = {
    "salesforce": SalesforceConnector,
    "certinia": CertiniaConnector,
    "dynamics": DynamicsConnector,
    "netsuite": NetSuiteConnector,
    "sap": SapConnector,
    "oracle": OracleConnector,
    "stripe": StripeConnector,
}


class PlatformSettings(BaseSettings):
    """One platform's connection, from `Q2C_<PLATFORM>_*` (pass `_env_prefix`)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    base_url: str
    token_url: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scope: str | None = None
    api_key: SecretStr | None = None
    account_id: str | None = None
    consumer_key: str | None = None
    consumer_secret: SecretStr | None = None
    token_id: str | None = None
    token_secret: SecretStr | None = None
    rate_per_s: float = 10.0
    concurrency: int = 4
    timeout_s: float = 30.0


def http_config(platform: str) -> HttpConfig:
    """The `HttpConfig` of `platform` from its environment variables."""
    prefix = f"Q2C_{platform.upper()}_"
    try:
        found = PlatformSettings(_env_prefix=prefix)  # type: ignore[call-arg]
    except ValidationError as exc:
        names = ", ".join(prefix + str(e["loc"][0]).upper() for e in exc.errors())
        raise ValueError(f"{platform} is not configured: check {names}") from None
    values = found.model_dump(exclude_none=True)
    tba = {k: values.pop(k) for k in TBA_FIELDS if k in values}
    if tba:
        try:
            values["tba"] = TokenBasedAuth(**tba)
        except ValidationError as exc:
            names = ", ".join(prefix + str(e["loc"][0]).upper() for e in exc.errors())
            raise ValueError(f"{platform} token-based auth is incomplete: set {names}") from None
    return HttpConfig(platform=platform, **values)


def connector_for(
    platform: str, config: HttpConfig | None = None, *, clock: Clock = utc_now
) -> OutboundConnector:
    """A connector of `platform` (configured from the environment unless `config` is given),
    whose replies are stamped by `clock`."""
    try:
        factory = FACTORIES[platform]
    except KeyError:
        raise ValueError(f"unknown platform {platform!r}; known: {', '.join(FACTORIES)}") from None
    return factory(config or http_config(platform), clock=clock)


class ConnectorService(AsyncStartStop):
    """The runners of the configured targets; `run()` until `request_stop()`."""

    def __init__(
        self,
        settings: Settings,
        assignments: Mapping[str, Sequence[OutboundConnector]],
        *,
        policy: RetryPolicy | None = None,
        connection: KafkaConnection | None = None,
    ) -> None:
        """`connection`: the process's (built from `settings` when not given); the publisher
        and every target's runner share it."""
        self.settings = settings
        self.connection = connection = connection or KafkaConnection.from_settings(settings)
        self.publisher = Publisher(settings, connection=connection)
        self.connectors = [c for conns in assignments.values() for c in conns]
        self.handlers = {
            target: ConnectorHandler(conns, self.publisher) for target, conns in assignments.items()
        }
        self.runners = {
            target: CommandRunner(
                settings, target, handler, policy=policy, hold=handler.hold_s, connection=connection
            )
            for target, handler in self.handlers.items()
        }

    async def start(self) -> None:
        await self.publisher.start()
        for connector in self.connectors:
            await connector.start()

    async def stop(self) -> None:
        for connector in self.connectors:
            await connector.stop()
        await self.publisher.stop()

    async def run(self) -> None:
        """Run every target's runner until `request_stop()`; an error in one stops all."""
        tasks = [
            asyncio.create_task(r.run(), name=f"connector-{t}") for t, r in self.runners.items()
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            self.request_stop()
            for task in tasks:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def request_stop(self) -> None:
        for runner in self.runners.values():
            runner.request_stop()
