"""Connector settings: credentials per platform and mapping overrides (`Q2C_CONNECTOR_*`).

Secrets are `SecretStr`: they never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConnectorSettings(BaseSettings):
    """Each field maps to `Q2C_CONNECTOR_<FIELD>`; lists are comma-separated."""

    model_config = SettingsConfigDict(env_prefix="Q2C_CONNECTOR_", extra="ignore", frozen=True)

    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="larger bodies get 413")
    store_timeout_s: float = Field(default=10.0, gt=0, description="Kafka ack wait before 503")
    refusal_audit_interval_s: float = Field(
        default=60.0, gt=0, description="one audit summary of refused requests per interval"
    )
    tenant: str = Field(default="default", description="tenant recorded with every request")
    gateway_port: int = Field(
        default=8081, ge=0, le=65535, description="gateway port in `q2c run --with-gateway`"
    )

    stripe_endpoint_secrets: SecretStr | None = Field(
        default=None, description="whsec_... secrets, comma-separated (several during rotation)"
    )
    stripe_tolerance_s: int = Field(default=300, ge=1)
    dynamics_webhook_key: SecretStr | None = None
    dynamics_organization_id: str | None = None
    salesforce_organization_id: str | None = None
    salesforce_relay_token: SecretStr | None = Field(
        default=None, description="bearer token of the Pub/Sub API relay forwarding CDC JSON"
    )
    netsuite_hmac_secret: SecretStr | None = None
    netsuite_tolerance_s: int = Field(default=300, ge=1)
    sap_bearer_token: SecretStr | None = None
    oracle_bearer_token: SecretStr | None = None

    salesforce_mapping: Path | None = None
    certinia_mapping: Path | None = None
    dynamics_mapping: Path | None = None
    netsuite_mapping: Path | None = None
    sap_mapping: Path | None = None
    oracle_mapping: Path | None = None
    stripe_mapping: Path | None = None

    def secret_list(self, value: SecretStr | None) -> list[str]:
        """The comma-separated secrets in `value` (empty when unset)."""
        if value is None:
            return []
        return [s.strip() for s in value.get_secret_value().split(",") if s.strip()]

    def mapping_override(self, platform: str) -> Path | None:
        """The firm's own mapping file for `platform`, if configured."""
        found = getattr(self, f"{platform}_mapping", None)
        return found if isinstance(found, Path) else None
