"""Structured JSON logs: one object per line, with the record being handled and no sensitive data.

Every line logged while a record is handled carries its ids (saga key, event id, correlation
id, causation id, trace id) from a context variable that `record_context` binds, so handlers
need not pass them. Classified values never reach the output: fields classified in the
contracts (and personal data and amounts) are masked by name, and the message and exception
text are scrubbed of such `name: value` pairs, of pydantic's echoed inputs and of anything
shaped like money, an IBAN or a tax registration (`engine.security.redaction`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from engine.kafka.link import KafkaStormFilter, observe_client_logs
from engine.security.redaction import classified_field_names, redact_values

RECORD_FIELDS = (
    "saga_key",
    "event_id",
    "event_type",
    "correlation_id",
    "causation_id",
    "trace_id",
    "span_id",
    "topic",
    "partition",
    "offset",
)
# Personal data not (yet) classified in the contracts; the classified fields are added from
# the schemas (`engine.security.redaction`), so classification drives what is masked.
PERSONAL = ("name", "legal_name", "email", "phone", "address", "iban", "vat_number")
# Aggregates of classified values (an invoice total is a sum of rates).
DERIVED = ("amount", "total", "unit_price", "paid_amount", "amount_due", "account", "lines")
MASK = "***"
# pydantic echoes the offending input: `input_value={'amount': ...}, input_type=dict`
_PYDANTIC_INPUT = re.compile(r"input_value=.*?(?=, input_type=|\]|$)", re.MULTILINE)
_DECIMAL = re.compile(r"Decimal\('[^']*'\)")


@lru_cache(maxsize=1)
def sensitive_names() -> frozenset[str]:
    """Field names (or name endings) whose values are never logged: classified ones first."""
    from engine.codec import default_codec  # late: logging is set up before the codec loads

    classified = classified_field_names(default_codec().store.current.definitions)
    return classified | frozenset(PERSONAL) | frozenset(DERIVED)


@lru_cache(maxsize=1)
def _pair() -> re.Pattern[str]:
    # `'amount': Decimal('10.00')`, `"name": "Acme"`, `tax_registration=US-1` ...
    alt = "|".join(sorted((re.escape(s) for s in sensitive_names()), key=len, reverse=True))
    return re.compile(
        rf"""(?P<k>['"]?\b\w*(?:{alt})['"]?\s*[:=]\s*)"""
        r"""(?P<v>Decimal\('[^']*'\)|'[^']*'|"[^"]*"|\{[^{}]*\}|[^\s,;)\]}]+)""",
        re.IGNORECASE,
    )


_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_context: ContextVar[Mapping[str, Any]] = ContextVar("q2c_log_context", default=_EMPTY)


def is_sensitive(field: str) -> bool:
    """Whether values of `field` must be masked (by name or name ending, any case)."""
    low = field.lower()
    return any(low == s or low.endswith("_" + s) for s in sensitive_names())


def redact_text(text: str) -> str:
    """`text` with sensitive `name: value` pairs, echoed inputs, Decimals, money, IBANs and tax
    registrations masked."""
    text = _PYDANTIC_INPUT.sub(f"input_value={MASK}", text)
    text = _pair().sub(lambda m: m.group("k") + MASK, text)
    return redact_values(_DECIMAL.sub(MASK, text))


def redact_value(field: str, value: Any) -> Any:
    """A field's value for the log: masked when sensitive, recursively for mappings."""
    if is_sensitive(field):
        return MASK
    if isinstance(value, Mapping):
        return {str(k): redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(field, v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact_text(str(value))


@contextmanager
def record_context(**fields: Any) -> Iterator[None]:
    """Bind record ids to every log line emitted inside the block (None values are skipped)."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: Any) -> None:
    """Add ids learnt while handling the record (e.g. its saga key after routing)."""
    _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


def current_context() -> Mapping[str, Any]:
    """The ids bound for the record being handled."""
    return _context.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, record ids, extras, exception."""

    def __init__(self, *, static: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.static = dict(static or {})

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact_text(record.getMessage()),
            **self.static,
        }
        for key, value in current_context().items():
            out[key] = redact_value(key, value)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = redact_value(key, value)
        if record.exc_info:
            out["exc"] = redact_text(self.formatException(record.exc_info))
        if record.stack_info:
            out["stack"] = redact_text(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time level logger message` for a person at a terminal, scrubbed like the JSON lines."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def configure_logging(
    level: str = "INFO", *, json_lines: bool = True, path: Path | None = None, **static: Any
) -> None:
    """Root logging for a q2c process: JSON lines (or text for humans) on stderr or to `path`."""
    handler: logging.Handler = (
        logging.FileHandler(path, encoding="utf-8") if path else logging.StreamHandler()
    )
    handler.setFormatter(JsonFormatter(static=static) if json_lines else TextFormatter())
    # A broker outage makes aiokafka log per retry: one q2c line per state change instead.
    handler.addFilter(KafkaStormFilter())
    observe_client_logs()
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # aiokafka is chatty at INFO about every (re)connection.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
