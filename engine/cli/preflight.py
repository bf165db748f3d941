"""Checks a command makes before it talks to Kafka, so a broker problem is one line, fast.

aiokafka waits `request_timeout_ms` (40 s) on a port that accepts a connection but never
answers, then raises from deep inside a client that is left unclosed. A command that needs the
broker first asks each bootstrap server for its API versions (the first request every Kafka
client sends) with a short timeout; if none answers, it stops with `BrokerUnreachable`, which
names the address, the setting it came from and what to try.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass

from engine.kafka.connection import resolve_bootstrap
from engine.security import protection
from engine.settings import SecurityProtocol, Settings

# Seconds to wait for a bootstrap server to connect and answer: a broker on a healthy network
# answers in milliseconds; a few seconds cover a loaded CI machine.
PROBE_TIMEOUT_S = 5.0
_API_VERSIONS = 18
_CORRELATION_ID = 0x51_2C


class BrokerUnreachable(ConnectionError):
    """No bootstrap server answered; the message says where it looked and what to try."""


class MissingTopics(RuntimeError):
    """The cluster lacks topics of the catalog; the message says to run `q2c topics apply`."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def endpoints(bootstrap: str) -> list[Endpoint]:
    """`host:port[,host:port...]` as endpoints (settings validated the shape)."""
    out = []
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        out.append(Endpoint(host.strip("[]"), int(port)))
    return out


def api_versions_request(client_id: str) -> bytes:
    """An ApiVersions v0 request: answered by every broker since Kafka 0.10, before any auth."""
    cid = client_id.encode()
    body = struct.pack(">hhih", _API_VERSIONS, 0, _CORRELATION_ID, len(cid)) + cid
    return struct.pack(">i", len(body)) + body


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed the connection without answering")
        data += chunk
    return data


def probe(endpoint: Endpoint, *, speaks_plaintext: bool, timeout_s: float) -> str | None:
    """None when `endpoint` answers like a Kafka broker, else why not (a few words)."""
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout_s) as sock:
            if not speaks_plaintext:
                return None  # TLS listeners need a handshake first; a connect is all we check
            sock.sendall(api_versions_request("q2c-preflight"))
            size, correlation = struct.unpack(">ii", _recv_exactly(sock, 8))
    except TimeoutError:
        return f"no answer within {timeout_s:g}s"
    except ConnectionRefusedError:
        return "connection refused"
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__
    if correlation != _CORRELATION_ID or size < 4:
        return "answered, but not as a Kafka broker"
    return None


def source_of(settings: Settings) -> str:
    """Where the bootstrap address came from, for the message."""
    if settings.bootstrap_servers:
        return "Q2C_BOOTSTRAP_SERVERS"
    return f"the local broker {settings.local_cluster!r} (`q2c kafka status`)"


def check_broker(settings: Settings, *, timeout_s: float = PROBE_TIMEOUT_S) -> str:
    """The bootstrap address, once one of its servers answered; else `BrokerUnreachable`.

    `NoBrokerError` (nothing configured, no local broker) passes through unchanged.
    """
    bootstrap = resolve_bootstrap(settings)
    plaintext = settings.security_protocol in (
        SecurityProtocol.PLAINTEXT,
        SecurityProtocol.SASL_PLAINTEXT,
    )
    reasons = []
    for endpoint in endpoints(bootstrap):
        reason = probe(endpoint, speaks_plaintext=plaintext, timeout_s=timeout_s)
        if reason is None:
            return bootstrap
        reasons.append(f"{endpoint}: {reason}")
    raise BrokerUnreachable(
        f"Kafka at {bootstrap} (from {source_of(settings)}) does not answer "
        f"({'; '.join(reasons)}): start one with `q2c kafka start`, "
        "or point Q2C_BOOTSTRAP_SERVERS at a running broker"
    )


async def _missing_topics(settings: Settings) -> list[str]:
    # Imported here: the topic planner is only needed by commands that check topics.
    from engine.topics.cluster import current_plan

    return [c.name for c in (await current_plan(settings)).creations]


def check_topics(settings: Settings) -> None:
    """`MissingTopics` when the cluster lacks any of the catalog's topics (after `check_broker`)."""
    missing = asyncio.run(_missing_topics(settings))
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise MissingTopics(
            f"{len(missing)} topic(s) of the catalog are missing on {resolve_bootstrap(settings)} "
            f"({shown}): run `q2c topics apply`"
        )


def open_keyset() -> None:
    """Open the field keyset now: a setting naming a missing or unreadable file is one line at
    start-up, not an error at the first record sealed or opened."""
    protection.active()


def check_ready(settings: Settings) -> None:
    """What every command reading or writing q2c topics checks: the field keyset opens, the
    broker answers, then the topics exist."""
    open_keyset()
    check_broker(settings)
    check_topics(settings)
