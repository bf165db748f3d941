"""Bearer-token roles (a viewer reads, an operator also replays and resolves), and the status
page's sign-in sessions.

Tokens are held only as SHA-256 digests: a configured entry is either a token or its digest
written `sha256:<64 hex>` (so a token file need not hold the secret itself). A presented
token is hashed and compared with every digest in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
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


SESSION_COOKIE = "q2c_session"
# Unsafe methods authenticated by the cookie must carry this header: a cross-site form cannot
# set it, and a cross-origin fetch that sets it needs a CORS preflight this API never grants.
CSRF_HEADER = "x-q2c-request"
SESSION_TTL_S = 8 * 3600.0
MAX_SESSIONS = 10_000


class Sessions:
    """Sign-in sessions of the status page: an opaque random id (the cookie) -> principal.

    The token itself is never stored or sent back; a session lives `ttl_s` seconds from
    sign-in, in this process only (a restart signs everyone out), at most `limit` at a time
    (the oldest are dropped).
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        ttl_s: float = SESSION_TTL_S,
        limit: int = MAX_SESSIONS,
    ) -> None:
        self._clock = clock
        self.ttl_s = ttl_s
        self._limit = limit
        self._open: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()

    def open(self, principal: Principal) -> str:
        """A new session for `principal`; the returned id goes into the cookie only."""
        session_id = secrets.token_urlsafe(32)
        self._open[digest(session_id)] = (principal, self._clock() + self.ttl_s)
        while len(self._open) > self._limit:
            self._open.popitem(last=False)
        return session_id

    def principal(self, session_id: str | None) -> Principal | None:
        """Who holds this session, or None when it is unknown or expired."""
        if not session_id:
            return None
        key = digest(session_id)
        found = self._open.get(key)
        if found is None:
            return None
        principal, expires = found
        if self._clock() >= expires:
            del self._open[key]
            return None
        return principal

    def close(self, session_id: str | None) -> None:
        """Sign out (nothing happens for an unknown id)."""
        if session_id:
            self._open.pop(digest(session_id), None)


def cookie_value(cookie_header: str | None, name: str = SESSION_COOKIE) -> str | None:
    """The value of cookie `name` in a `Cookie:` header, if present."""
    if not cookie_header:
        return None
    for part in cookie_header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


@dataclass(frozen=True)
class Caller:
    """An authenticated request: who, and whether by a session cookie (then unsafe methods
    need the CSRF header)."""

    principal: Principal
    by_cookie: bool


def identify(
    authority: TokenAuthority,
    sessions: Sessions,
    authorization: str | None,
    cookie_header: str | None,
) -> Caller | None:
    """The caller of a request from its `Authorization: Bearer` header, else its session
    cookie; None when neither is valid. A bearer header, when present, decides alone."""
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        found = authority.role_of(token.strip())
        return None if found is None else Caller(found, by_cookie=False)
    found = sessions.principal(cookie_value(cookie_header))
    return None if found is None else Caller(found, by_cookie=True)
