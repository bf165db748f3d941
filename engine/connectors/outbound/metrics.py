"""Prometheus metrics of the outbound connectors, labelled by platform (never by id)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from engine.observability.metrics import LATENCY_BUCKETS

REQUESTS = Counter(
    "q2c_connector_requests_total",
    "HTTP requests to a platform by status class (2xx, 4xx, 5xx, timeout, error)",
    ["platform", "status_class"],
)
LATENCY = Histogram(
    "q2c_connector_request_seconds",
    "Time from sending a request to a platform to its reply",
    ["platform"],
    buckets=LATENCY_BUCKETS,
)
RATE_LIMIT_WAITS = Counter(
    "q2c_connector_rate_limit_waits_total",
    "Requests that waited for the client-side limiter or a Retry-After",
    ["platform"],
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "q2c_connector_rate_limit_wait_seconds_total",
    "Seconds requests spent waiting for the limiter",
    ["platform"],
)
RETRIES = Counter(
    "q2c_connector_retries_total",
    "Requests sent again (after a 401 token refresh, a Retry-After or a CSRF refetch)",
    ["platform", "reason"],
)
CIRCUIT_STATE = Gauge(
    "q2c_connector_circuit_state", "Circuit breaker: 0 closed, 1 half-open, 2 open", ["platform"]
)


def status_class(status: int) -> str:
    """`2xx`, `3xx`, `4xx` or `5xx`."""
    return f"{status // 100}xx"
