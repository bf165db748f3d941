"""Avro single-object encoding: `C3 01`, the 8-byte little-endian CRC-64-AVRO fingerprint of
the writer schema's Parsing Canonical Form, then the Avro binary body."""

from __future__ import annotations

MAGIC = b"\xc3\x01"
HEADER_SIZE = len(MAGIC) + 8


def frame(fingerprint: bytes, body: bytes) -> bytes:
    """Prefix an Avro body with the single-object header."""
    return MAGIC + fingerprint + body


def split(data: bytes) -> tuple[bytes, memoryview]:
    """`(fingerprint, body)` of a single-object encoded value; ValueError when not one."""
    if len(data) < HEADER_SIZE or data[:2] != MAGIC:
        raise ValueError("not Avro single-object encoding (missing C3 01 marker)")
    view = memoryview(data)
    return bytes(view[2:HEADER_SIZE]), view[HEADER_SIZE:]
