"""Settings of the HTTP surface, from `Q2C_*` environment variables (apart from the engine's)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.settings import SettingsError


def split_tokens(raw: str) -> frozenset[str]:
    """Comma-separated tokens, blanks dropped."""
    return frozenset(t.strip() for t in raw.split(",") if t.strip())


class TokenFileError(SettingsError):
    """A token file cannot be read; the message names the setting and the file."""


def file_tokens(path: Path | None, setting: str) -> frozenset[str]:
    """One token (or `sha256:<hex>` digest) per line; blank lines and `#` comments skipped."""
    if path is None:
        return frozenset()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise TokenFileError(
            f"{setting}={str(path)!r}: cannot read ({exc.strerror or exc})"
        ) from None
    return frozenset(s for line in lines if (s := line.strip()) and not s.startswith("#"))


class ApiSettings(BaseSettings):
    """`Q2C_HTTP_ENABLED`, `Q2C_API_{VIEWER,OPERATOR}_TOKENS[_FILE]` and the request limits.

    Host and port live in the engine's settings (`Q2C_HTTP_HOST`, `Q2C_HTTP_PORT`). With no
    token configured every API call is refused (401): the API never runs open by accident.
    Token files hold one token or `sha256:<hex>` digest per line.
    """

    model_config = SettingsConfigDict(env_prefix="Q2C_", extra="ignore", frozen=True)

    http_enabled: bool = True
    api_viewer_tokens: SecretStr = SecretStr("")
    api_operator_tokens: SecretStr = SecretStr("")
    api_viewer_tokens_file: Path | None = None
    api_operator_tokens_file: Path | None = None
    api_max_body_bytes: int = Field(default=65_536, ge=1, description="larger bodies get 413")
    api_deadline_s: float = Field(
        default=10.0, gt=0, description="an /api call still running then answers 503"
    )
    api_auth_failures_per_minute: int = Field(
        default=20, ge=1, description="failed authentications per client before 429"
    )
    api_refusal_audit_interval_s: float = Field(
        default=60.0, gt=0, description="refused calls are audited as one summary per interval"
    )
    api_read_audit_interval_s: float = Field(
        default=60.0, gt=0, description="saga reads are audited as one summary per interval"
    )
    api_docs: bool = Field(default=False, description="serve /docs (Swagger UI, loads a CDN)")

    @property
    def viewer_tokens(self) -> frozenset[str]:
        inline = split_tokens(self.api_viewer_tokens.get_secret_value())
        return inline | file_tokens(self.api_viewer_tokens_file, "Q2C_API_VIEWER_TOKENS_FILE")

    @property
    def operator_tokens(self) -> frozenset[str]:
        inline = split_tokens(self.api_operator_tokens.get_secret_value())
        return inline | file_tokens(self.api_operator_tokens_file, "Q2C_API_OPERATOR_TOKENS_FILE")
