"""Prometheus metrics of the gateway and the translator (labels: platform, route, reason).

Never an id as a label value: the label sets are the registered platforms, routes and the
fixed reasons of `AuthError`.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from engine.observability.metrics import LATENCY_BUCKETS

RECEIVED = Counter(
    "q2c_gateway_requests_received_total", "Requests received", ["platform", "route"]
)
AUTHENTICATED = Counter(
    "q2c_gateway_requests_authenticated_total",
    "Requests that passed authentication",
    ["platform", "route"],
)
REJECTED = Counter(
    "q2c_gateway_requests_rejected_total",
    "Requests refused (auth reason, too-large, unavailable)",
    ["platform", "route", "reason"],
)
STORED = Counter(
    "q2c_gateway_requests_stored_total",
    "Requests written to their native topic",
    ["platform", "route"],
)
LATENCY = Histogram(
    "q2c_gateway_request_seconds",
    "From request start to the response (stored and acknowledged, or refused)",
    ["platform", "route"],
    buckets=LATENCY_BUCKETS,
)
TRANSLATED = Counter(
    "q2c_translator_published_total", "Canonical events published", ["platform", "event_type"]
)
UNMAPPED = Counter(
    "q2c_translator_unmapped_total", "Native records dead-lettered as untranslatable", ["platform"]
)
NOTHING = Counter(
    "q2c_translator_no_event_total", "Native records that mean no canonical event", ["platform"]
)
