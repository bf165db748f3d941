"""W3C trace context through the engine: each consumed event's trace continues into the
commands and status events it causes.

`record_scope(rec)` opens a span (OpenTelemetry API) for handling one consumed record, as a
child of the record's `traceparent`; `current_traceparent()` is what outputs written inside the
scope carry. Without an SDK configured the API's tracer records nothing, so the child context
is made here (same trace id, new span id) and the trace still links end to end.
`configure_tracing()` installs the SDK with an OTLP exporter when OTEL_EXPORTER_OTLP_ENDPOINT
is set and the `otlp` extra is installed.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from engine.codec.headers import (
    CORRELATION_ID,
    EVENT_ID,
    EVENT_TYPE,
    TRACEPARENT,
    valid_traceparent,
)
from engine.kafka.records import InRecord
from engine.observability.logging import record_context

log = logging.getLogger("q2c.tracing")
TRACER_NAME = "q2c.engine"
SAGA_KEY_HEADER = "q2c-saga-key"  # engine.runtime.translate.SAGA_KEY_HEADER (no import cycle)
_propagator = TraceContextTextMapPropagator()
_current: ContextVar[str | None] = ContextVar("q2c_traceparent", default=None)


def parse(traceparent: str | None) -> tuple[str, str, str] | None:
    """(trace id, parent span id, flags) of a valid version-00 traceparent."""
    if not valid_traceparent(traceparent):
        return None
    assert traceparent is not None
    _, trace_id, span_id, flags = traceparent.split("-")
    return trace_id, span_id, flags


def child_of(traceparent: str | None) -> str | None:
    """A traceparent in the same trace with a fresh span id (None when there is no parent)."""
    parsed = parse(traceparent)
    if parsed is None:
        return None
    trace_id, _, flags = parsed
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


def current_traceparent() -> str | None:
    """The traceparent outputs written now should carry (None outside a record scope)."""
    return _current.get()


def _header(rec: InRecord, name: str) -> str | None:
    raw = rec.header(name)
    return raw.decode(errors="replace") if raw else None


@contextmanager
def record_scope(rec: InRecord) -> Iterator[str | None]:
    """Handle `rec` inside a span continuing its trace, with its ids bound to every log line."""
    parent = _header(rec, TRACEPARENT)
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        # No SDK installed: spans would record nothing, so skip them (this is the hot path)
        # and only continue the trace in the outputs' headers.
        with _bound(rec, child_of(parent)) as traceparent:
            yield traceparent
        return
    ctx = _propagator.extract({TRACEPARENT: parent} if parent else {})
    tracer = trace.get_tracer(TRACER_NAME)
    with (
        tracer.start_as_current_span(
            "q2c.process",
            context=ctx,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": rec.topic,
                "messaging.kafka.partition": rec.partition,
                "messaging.kafka.offset": rec.offset,
            },
        ) as span,
        _bound(rec, _traceparent_of(span) or child_of(parent)) as traceparent,
    ):
        yield traceparent


@contextmanager
def _bound(rec: InRecord, traceparent: str | None) -> Iterator[str | None]:
    """Make `traceparent` current and bind the record's ids to the log context."""
    token = _current.set(traceparent)
    parsed = parse(traceparent)
    try:
        with record_context(
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
            event_id=_header(rec, EVENT_ID),
            event_type=_header(rec, EVENT_TYPE),
            correlation_id=_header(rec, CORRELATION_ID),
            saga_key=_header(rec, SAGA_KEY_HEADER),
            trace_id=parsed[0] if parsed else None,
            span_id=parsed[1] if parsed else None,
        ):
            yield traceparent
    finally:
        _current.reset(token)


def _traceparent_of(span: trace.Span) -> str | None:
    """The span's own context as a traceparent, when an SDK records it."""
    if isinstance(span, NonRecordingSpan) or not span.is_recording():
        return None
    sc: SpanContext = span.get_span_context()
    if not sc.is_valid:
        return None
    return f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{int(sc.trace_flags & TraceFlags.SAMPLED):02x}"


def configure_tracing(service_name: str = "q2c-engine") -> bool:
    """Export spans over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; True when installed."""
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return False
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but the `otlp` extra is not installed")
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True
