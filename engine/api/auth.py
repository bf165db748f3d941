"""Bearer-token roles: a viewer reads, an operator also replays and resolves.

Tokens are held only as SHA-256 digests: a configured entry is either a token or its digest
written `sha256:<64 hex>` (so a token file need not hold the secret itself). A presented
token is hashed and compared with every digest in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

HASHED = "sha256:"


class Role(IntEnum):
    """Ordered: a higher role may do everything a lower one may."""

    VIEWER = 1
    OPERATOR = 2


@dataclass(frozen=True)
class Principal:
    """Who called: the role and a short fingerprint of the token (never the token itself)."""

    role: Role
    fingerprint: str

    @property
    def name(self) -> str:
        return f"{self.role.name.lower()}:{self.fingerprint}"


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def fingerprint(token: str) -> str:
    """First 12 hex digits of the token's SHA-256: enough to tell tokens apart in audit logs."""
    return digest(token).hex()[:12]


def stored_digest(entry: str) -> bytes:
    """The digest of a configured entry: `sha256:<hex>` as given, else the hash of the token."""
    if entry.startswith(HASHED):
        hexed = entry.removeprefix(HASHED)
        try:
            raw = bytes.fromhex(hexed)
        except ValueError:
            raw = b""
        if len(raw) != hashlib.sha256().digest_size:
            raise ValueError("a sha256: token entry needs 64 hex digits")
        return raw
    return digest(entry)


class TokenAuthority:
    """Maps bearer tokens to roles by their digests; comparisons are constant-time."""

    def __init__(self, viewer: Iterable[str], operator: Iterable[str]) -> None:
        ops = {stored_digest(t) for t in operator}
        self._digests: list[tuple[bytes, Role]] = [(d, Role.OPERATOR) for d in sorted(ops)]
        self._digests += [
            (d, Role.VIEWER) for d in sorted({stored_digest(t) for t in viewer} - ops)
        ]

    @property
    def empty(self) -> bool:
        return not self._digests

    def role_of(self, token: str | None) -> Principal | None:
        """The caller's principal, or None for a missing or unknown token."""
        if not token:
            return None
        given = digest(token)
        found: Role | None = None
        for known, role in self._digests:
            # No early exit: the time taken must not tell which token almost matched.
            if hmac.compare_digest(known, given) and (found is None or role > found):
                found = role
        return None if found is None else Principal(found, given.hex()[:12])
