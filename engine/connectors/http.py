"""Shared HTTP behaviour of the outbound connectors: one `PlatformHttp` per platform.

- httpx.AsyncClient with connection pooling and connect/read timeouts;
- OAuth 2.0 client credentials through authlib's httpx integration (the token is cached and
  fetched again when it expires or when the platform answers 401), NetSuite's token-based
  auth (OAuth 1.0a, HMAC-SHA256, `engine.connectors.netsuite.tba`), or a static API key;
- secrets are `SecretStr`: they are unwrapped only where the client is built, never logged;
- every request waits for the client-side `Limiter` of its platform + credential, then passes
  the target's `CircuitBreaker`;
- a 429 / platform limit code with a short `Retry-After` is waited out here (the whole
  credential holds), up to `rate_limit_retries` times; what remains is raised as the adapter
  toolkit's transient or permanent error (`engine.connectors.outbound.errors`), so the
  `CommandRunner` retries or dead-letters it;
- per-platform metrics (`engine.connectors.outbound.metrics`).

Every request a connector sends is idempotent by construction (an idempotency key or an
external-id upsert), which is what makes resending after a timeout safe.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Collection
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from engine.connectors.netsuite.tba import TokenBasedAuth, tba_auth
from engine.connectors.outbound import metrics
from engine.connectors.outbound.circuit import CircuitBreaker, CircuitState
from engine.connectors.outbound.errors import (
    CircuitOpen,
    PlatformError,
    RateLimited,
    Rejected,
    error_for,
    parse_body,
)
from engine.connectors.outbound.limiter import Limiter, limiter_for
from engine.lifecycle import AsyncStartStop

with warnings.catch_warnings():
    # authlib 1.9 warns on import that it prefers the httpx2 fork; q2c uses httpx itself.
    # Its module sets an "always" filter when first imported, so import it before ours.
    from authlib.deprecate import AuthlibDeprecationWarning

    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

log = logging.getLogger("q2c.connectors")


class HttpConfig(BaseModel):
    """How to reach one platform; secrets stay `SecretStr` (shown as `**********`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: str
    base_url: str
    token_url: str | None = Field(default=None, description="OAuth 2.0 token endpoint")
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scope: str | None = None
    api_key: SecretStr | None = Field(default=None, description="bearer key (Stripe)")
    tba: TokenBasedAuth | None = Field(default=None, description="NetSuite token-based auth")
    headers: dict[str, str] = Field(default_factory=dict)
    rate_per_s: float = Field(default=10.0, gt=0)
    concurrency: int = Field(default=4, ge=1)
    timeout_s: float = Field(default=30.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    max_connections: int = Field(default=20, ge=1)
    rate_limit_retries: int = Field(default=3, ge=0)
    max_retry_after_s: float = Field(default=10.0, ge=0)
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_reset_s: float = Field(default=30.0, gt=0)

    @property
    def credential(self) -> str:
        """Names the credential (not its secret) for the limiter key."""
        if self.tba is not None:
            return f"tba:{self.tba.token_id}"
        return self.client_id or ("api-key" if self.api_key else "anonymous")


class PlatformHttp(AsyncStartStop):
    """An HTTP client for one platform; use as `async with PlatformHttp(config)`."""

    def __init__(self, config: HttpConfig, *, transport: httpx.AsyncBaseTransport | None = None):
        self.config = config
        self.platform = config.platform
        self._limiter: Limiter | None = None
        self.breaker = CircuitBreaker(config.breaker_threshold, config.breaker_reset_s)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._token_lock = asyncio.Lock()
        self._token_generation = 0
        self.requests = 0

    @property
    def uses_oauth(self) -> bool:
        return self.config.token_url is not None

    @property
    def limiter(self) -> Limiter:
        """The limiter shared by every client of this credential (known once started)."""
        if self._limiter is None:
            raise RuntimeError("PlatformHttp is not started: use `async with PlatformHttp(...)`")
        return self._limiter

    async def start(self) -> None:
        cfg = self.config
        self._limiter = limiter_for(cfg.base_url, cfg.credential, cfg.rate_per_s, cfg.concurrency)
        options: dict[str, Any] = {
            "base_url": cfg.base_url,
            "timeout": httpx.Timeout(cfg.timeout_s, connect=cfg.connect_timeout_s),
            "limits": httpx.Limits(
                max_connections=cfg.max_connections, max_keepalive_connections=cfg.concurrency
            ),
            "headers": dict(cfg.headers),
        }
        if self._transport is not None:
            options["transport"] = self._transport
        if self.uses_oauth:
            secret = cfg.client_secret.get_secret_value() if cfg.client_secret else None
            client: httpx.AsyncClient = AsyncOAuth2Client(
                client_id=cfg.client_id,
                client_secret=secret,
                scope=cfg.scope,
                token_endpoint=cfg.token_url,
                grant_type="client_credentials",
                token_endpoint_auth_method="client_secret_post",
                **options,
            )
        else:
            if cfg.api_key is not None:
                options["headers"]["Authorization"] = f"Bearer {cfg.api_key.get_secret_value()}"
            if cfg.tba is not None:
                options["auth"] = tba_auth(cfg.tba)
            client = httpx.AsyncClient(**options)
        self._client = client
        if self.uses_oauth:
            await self._fetch_token(self._token_generation)

    async def stop(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def _fetch_token(self, seen_generation: int) -> None:
        """Fetch a new token unless another request already did since `seen_generation`."""
        assert isinstance(self._client, AsyncOAuth2Client)
        async with self._token_lock:
            if self._token_generation != seen_generation:
                return
            try:
                await self._client.fetch_token(self.config.token_url)
            except httpx.TransportError as exc:
                raise PlatformError(f"{self.platform} token endpoint unreachable") from exc
            except Exception as exc:  # authlib's OAuthError: wrong credentials, bad grant
                raise Rejected(
                    f"{self.platform} token request refused ({type(exc).__name__})", 401, None, None
                ) from exc
            self._token_generation += 1

    async def request(
        self, method: str, url: str, *, ok: Collection[int] = (), **kwargs: Any
    ) -> httpx.Response:
        """Send one request and return its reply when it is a success or in `ok`.

        Raises `RateLimited`/`PlatformError`/`CircuitOpen` (transient) or `Rejected`
        (permanent, with the platform's error code and path).
        """
        if self._client is None:
            raise RuntimeError("PlatformHttp is not started: use `async with PlatformHttp(...)`")
        refreshed = False
        rate_limit_tries = 0
        while True:
            generation = self._token_generation
            reply = await self._send_once(method, url, **kwargs)
            if reply.status_code == 401 and self.uses_oauth and not refreshed:
                refreshed = True
                metrics.RETRIES.labels(self.platform, "token").inc()
                await self._fetch_token(generation)
                continue
            if reply.status_code in ok:
                return reply
            error = error_for(self.platform, reply.status_code, reply.headers, _body(reply))
            if error is None:
                return reply
            if isinstance(error, RateLimited):
                wait = error.retry_after_s if error.retry_after_s is not None else 1.0
                self.limiter.hold(wait)
                if rate_limit_tries < self.config.rate_limit_retries and (
                    wait <= self.config.max_retry_after_s
                ):
                    rate_limit_tries += 1
                    metrics.RETRIES.labels(self.platform, "rate-limit").inc()
                    metrics.RATE_LIMIT_WAITS.labels(self.platform).inc()
                    continue
            raise error

    async def _send_once(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        assert self._client is not None
        if not self.breaker.allow():
            self._export_circuit()
            raise CircuitOpen(
                f"{self.platform} circuit open after {self.breaker.failures} failures; "
                f"next trial in {self.breaker.remaining_s():.0f}s"
            )
        async with self.limiter.slot() as waited:
            if waited > 0.001:
                metrics.RATE_LIMIT_WAITS.labels(self.platform).inc()
                metrics.RATE_LIMIT_WAIT_SECONDS.labels(self.platform).inc(waited)
            start = time.perf_counter()
            self.requests += 1
            try:
                reply = await self._client.request(method, url, **kwargs)
            except httpx.TimeoutException as exc:
                self._failed("timeout")
                raise PlatformError(f"{self.platform} {method} timed out") from exc
            except httpx.TransportError as exc:
                self._failed("error")
                raise PlatformError(
                    f"{self.platform} {method} failed: {type(exc).__name__}"
                ) from exc
            finally:
                metrics.LATENCY.labels(self.platform).observe(time.perf_counter() - start)
        metrics.REQUESTS.labels(self.platform, metrics.status_class(reply.status_code)).inc()
        # Only an unavailable platform trips the breaker: a 4xx or a rate limit proves it is up.
        if reply.status_code >= 500:
            self._breaker_failure()
        else:
            self.breaker.success()
            self._export_circuit()
        return reply

    def _failed(self, status_class: str) -> None:
        metrics.REQUESTS.labels(self.platform, status_class).inc()
        self._breaker_failure()

    def _breaker_failure(self) -> None:
        was_open = self.breaker.state is CircuitState.OPEN
        self.breaker.failure()
        if not was_open and self.breaker.state is CircuitState.OPEN:
            log.warning(
                "%s circuit open after %d consecutive failures; next trial in %.0fs",
                self.platform,
                self.breaker.failures,
                self.breaker.remaining_s(),
            )
        self._export_circuit()

    def _export_circuit(self) -> None:
        metrics.CIRCUIT_STATE.labels(self.platform).set(int(self.breaker.state))


def _body(reply: httpx.Response) -> Any:
    return parse_body(reply.content)
