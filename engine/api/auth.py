"""Bearer-token roles: a viewer reads, an operator also replays and resolves."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import IntEnum


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


def fingerprint(token: str) -> str:
    """First 12 hex digits of the token's SHA-256: enough to tell tokens apart in audit logs."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


class TokenAuthority:
    """Maps bearer tokens to roles; comparisons are constant-time."""

    def __init__(self, viewer: frozenset[str], operator: frozenset[str]) -> None:
        self._tokens: list[tuple[bytes, Role]] = [(t.encode(), Role.OPERATOR) for t in operator]
        self._tokens += [(t.encode(), Role.VIEWER) for t in viewer if t not in operator]

    def role_of(self, token: str | None) -> Principal | None:
        """The caller's principal, or None for a missing or unknown token."""
        if not token:
            return None
        given = token.encode()
        found: Role | None = None
        for known, role in self._tokens:
            # No early exit: the time taken must not tell which token almost matched.
            if hmac.compare_digest(known, given) and (found is None or role > found):
                found = role
        return None if found is None else Principal(found, fingerprint(token))
