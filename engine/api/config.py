"""Settings of the HTTP surface, from `Q2C_*` environment variables (apart from the engine's)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


def split_tokens(raw: str) -> frozenset[str]:
    """Comma-separated tokens, blanks dropped."""
    return frozenset(t.strip() for t in raw.split(",") if t.strip())


class ApiSettings(BaseSettings):
    """`Q2C_HTTP_ENABLED`, `Q2C_API_VIEWER_TOKENS`, `Q2C_API_OPERATOR_TOKENS`.

    Host and port live in the engine's settings (`Q2C_HTTP_HOST`, `Q2C_HTTP_PORT`). With no
    token configured every API call is refused (401): the API never runs open by accident.
    """

    model_config = SettingsConfigDict(env_prefix="Q2C_", extra="ignore", frozen=True)

    http_enabled: bool = True
    api_viewer_tokens: str = ""
    api_operator_tokens: str = ""

    @property
    def viewer_tokens(self) -> frozenset[str]:
        return split_tokens(self.api_viewer_tokens)

    @property
    def operator_tokens(self) -> frozenset[str]:
        return split_tokens(self.api_operator_tokens)
