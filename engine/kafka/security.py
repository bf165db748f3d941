"""Client-side Kafka security from settings: TLS context and SASL credentials for aiokafka.

Passwords come from `Q2C_SASL_PASSWORD` (a SecretStr) or, preferably, the file named by
`Q2C_SASL_PASSWORD_FILE`, read when a client is built so a rotated password is picked up by
the next connection. Errors name the setting or the file, never the secret.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from pydantic import SecretStr

from engine.settings import SecurityProtocol, SettingsError

DEFAULT_MECHANISM = "SCRAM-SHA-512"
MECHANISMS = frozenset({"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"})
TLS = frozenset({SecurityProtocol.SSL, SecurityProtocol.SASL_SSL})
SASL = frozenset({SecurityProtocol.SASL_PLAINTEXT, SecurityProtocol.SASL_SSL})


class SecurityConfigError(SettingsError):
    """The security settings are incomplete or point at unreadable files; names the setting."""


class ConnectionSecurity(Protocol):
    """The security fields of `Settings`, which `KafkaConnection` carries under the same names."""

    @property
    def security_protocol(self) -> SecurityProtocol: ...
    @property
    def sasl_mechanism(self) -> str | None: ...
    @property
    def sasl_username(self) -> str | None: ...
    @property
    def sasl_password(self) -> SecretStr | None: ...
    @property
    def sasl_password_file(self) -> Path | None: ...
    @property
    def ssl_cafile(self) -> Path | None: ...
    @property
    def ssl_certfile(self) -> Path | None: ...
    @property
    def ssl_keyfile(self) -> Path | None: ...
    @property
    def ssl_key_password(self) -> SecretStr | None: ...


@lru_cache(maxsize=16)
def _context(
    cafile: Path | None, certfile: Path | None, keyfile: Path | None, key_password: str | None
) -> ssl.SSLContext:
    # Cached: every client of a process shares one context instead of re-reading the PEMs.
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    if certfile is not None:
        context.load_cert_chain(str(certfile), str(keyfile) if keyfile else None, key_password)
    return context


def ssl_context(settings: ConnectionSecurity) -> ssl.SSLContext:
    """TLS context verifying the brokers (hostname included), with a client cert for mTLS."""
    for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        path: Path | None = getattr(settings, name)
        if path is not None and not path.is_file():
            raise SecurityConfigError(f"Q2C_{name.upper()}={str(path)!r}: no such file")
    if settings.ssl_keyfile is not None and settings.ssl_certfile is None:
        raise SecurityConfigError("Q2C_SSL_KEYFILE is set without Q2C_SSL_CERTFILE")
    key_password = settings.ssl_key_password
    try:
        return _context(
            settings.ssl_cafile,
            settings.ssl_certfile,
            settings.ssl_keyfile,
            key_password.get_secret_value() if key_password else None,
        )
    except ssl.SSLError as exc:
        raise SecurityConfigError(
            f"cannot load the TLS files (Q2C_SSL_CAFILE/CERTFILE/KEYFILE): {exc.reason or exc}"
        ) from None


def sasl_password(settings: ConnectionSecurity) -> str:
    """The SASL password: Q2C_SASL_PASSWORD_FILE's content, else Q2C_SASL_PASSWORD."""
    if settings.sasl_password_file is not None:
        path = settings.sasl_password_file
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecurityConfigError(
                f"Q2C_SASL_PASSWORD_FILE={str(path)!r}: cannot read ({exc.strerror or exc})"
            ) from None
        if not secret:
            raise SecurityConfigError(f"Q2C_SASL_PASSWORD_FILE={str(path)!r} is empty")
        return secret
    if settings.sasl_password is not None and settings.sasl_password.get_secret_value():
        return settings.sasl_password.get_secret_value()
    raise SecurityConfigError(
        f"Q2C_SECURITY_PROTOCOL={settings.security_protocol.value} needs "
        "Q2C_SASL_PASSWORD_FILE (or Q2C_SASL_PASSWORD)"
    )


def security_options(settings: ConnectionSecurity) -> dict[str, Any]:
    """aiokafka keyword options for the configured protocol (merged into client options)."""
    protocol = settings.security_protocol
    opts: dict[str, Any] = {"security_protocol": protocol.value}
    if protocol in TLS:
        opts["ssl_context"] = ssl_context(settings)
    if protocol in SASL:
        mechanism = (settings.sasl_mechanism or DEFAULT_MECHANISM).upper()
        if mechanism not in MECHANISMS:
            raise SecurityConfigError(
                f"Q2C_SASL_MECHANISM={mechanism!r}: expected one of {sorted(MECHANISMS)}"
            )
        if not settings.sasl_username:
            raise SecurityConfigError(
                f"Q2C_SECURITY_PROTOCOL={protocol.value} needs Q2C_SASL_USERNAME"
            )
        opts["sasl_mechanism"] = mechanism
        opts["sasl_plain_username"] = settings.sasl_username
        opts["sasl_plain_password"] = sasl_password(settings)
    return opts
