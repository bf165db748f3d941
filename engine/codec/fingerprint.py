"""CRC-64-AVRO (Rabin) fingerprints of schemas, as the Avro specification defines them."""

from __future__ import annotations

from typing import Any

from fastavro.schema import fingerprint as _fastavro_fingerprint
from fastavro.schema import to_parsing_canonical_form


def canonical_form(schema: Any) -> str:
    """The Parsing Canonical Form of a standalone (fully expanded) schema."""
    return str(to_parsing_canonical_form(schema))


def fingerprint64(canonical: str) -> bytes:
    """The 8 fingerprint bytes in wire order (little-endian), for the single-object header."""
    # fastavro renders CRC-64-AVRO as the hex of the little-endian bytes, i.e. wire order.
    return bytes.fromhex(_fastavro_fingerprint(canonical, "CRC-64-AVRO"))
