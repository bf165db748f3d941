"""What an outbound connector is, and the `CommandRunner` handler that drives one.

A connector turns a canonical command into the platform's HTTP requests and returns the
canonical reply events (possibly none). `ConnectorHandler` routes each command to its
platform's connector and publishes the replies through the `Publisher`, so the runner commits
the command only after its replies were acknowledged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

import httpx

from engine.adapters.errors import PermanentError
from engine.connectors.http import HttpConfig, PlatformHttp
from engine.connectors.outbound.fields import OutboundFields, load_fields
from engine.contracts import Command, Event
from engine.lifecycle import AsyncStartStop
from engine.publisher import Publisher

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, in UTC: when a reply's effect happened, unless a connector is given
    another clock (the demo's simulated one)."""
    return datetime.now(UTC)


class OutboundConnector(Protocol):
    """One platform's side of the commands it owns."""

    platform: str
    commands: frozenset[str]
    http: PlatformHttp

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def handle(self, command: Command) -> Sequence[Event]:
        """Make the command's effect on the platform (idempotently); return its replies."""
        ...


class HttpConnector(AsyncStartStop):
    """Base of the platform connectors: owns one `PlatformHttp` (`self.http`), the field
    mapping (`self.fields`, the platform's shipped file unless one is given) and the clock that
    stamps the replies' `occurred_at` (`self.clock`)."""

    platform: str
    commands: frozenset[str]
    http: PlatformHttp
    fields: OutboundFields
    # Sent on every request unless the configuration sets the same header.
    default_headers: Mapping[str, str] = {}
    # Records the field mapping must define: a gap fails when the connector is built.
    required_records: tuple[str, ...] = ()

    def __init__(
        self,
        config: HttpConfig,
        fields: OutboundFields | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = utc_now,
    ) -> None:
        """`transport`: an httpx transport to use instead of the network (tests); `clock`:
        the time a reply says its effect happened (the demo's simulated clock)."""
        if self.default_headers:
            headers = {**self.default_headers, **config.headers}
            config = config.model_copy(update={"headers": headers})
        self.http = PlatformHttp(config, transport=transport)
        self.fields = fields or load_fields(self.platform)
        self.clock = clock
        for role in self.required_records:
            self.fields.record(role)  # KeyError naming the file's gap

    async def start(self) -> None:
        await self.http.start()

    async def stop(self) -> None:
        await self.http.stop()

    async def handle(self, command: Command) -> Sequence[Event]:
        """Make the command's effect on the platform (idempotently); return its replies."""
        raise NotImplementedError

    def unsupported(self, command: Command) -> PermanentError:
        """The error for a command routed to a platform that does not handle it."""
        return PermanentError(f"{self.platform} does not handle {command.header.command_type}")


class ConnectorHandler:
    """A `CommandRunner` handler: command -> its connector -> replies published."""

    def __init__(self, connectors: Sequence[OutboundConnector], publisher: Publisher) -> None:
        self.publisher = publisher
        self.connectors = list(connectors)
        self.routes: Mapping[str, OutboundConnector] = routes_of(self.connectors)
        self.published = 0

    def hold_s(self, command: Command) -> float:
        """Seconds until the command's platform takes requests again (its circuit is open)."""
        connector = self.routes.get(command.header.command_type)
        return connector.http.breaker.remaining_s() if connector is not None else 0.0

    async def __call__(self, command: Command) -> None:
        connector = self.routes.get(command.header.command_type)
        if connector is None:
            raise PermanentError(
                f"no connector handles {command.header.command_type} "
                f"(configured: {', '.join(sorted(c.platform for c in self.connectors))})"
            )
        for event in await connector.handle(command):
            await self.publisher.publish(event)
            self.published += 1


def routes_of(connectors: Sequence[OutboundConnector]) -> dict[str, OutboundConnector]:
    """Command type -> connector; two connectors claiming one command type is a set-up error."""
    routes: dict[str, OutboundConnector] = {}
    for connector in connectors:
        for command_type in connector.commands:
            if command_type in routes:
                raise ValueError(
                    f"{command_type} is claimed by both {routes[command_type].platform} "
                    f"and {connector.platform}"
                )
            routes[command_type] = connector
    return routes
