"""Helpers the platform modules share: JSON bodies read without float rounding."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from engine.connectors.protocol import Acknowledgement, NativeRequest, ParseError

STORED = Acknowledgement()


def json_body(request: NativeRequest) -> Any:
    """The body as JSON with every non-integer number a Decimal (money stays exact)."""
    try:
        return json.loads(request.body, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise ParseError("body is not JSON") from None


def json_object(request: NativeRequest) -> dict[str, Any]:
    doc = json_body(request)
    if not isinstance(doc, dict):
        raise ParseError("body is not a JSON object")
    return doc


def text_field(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value:
        raise ParseError("missing or non-text field", name)
    return value
