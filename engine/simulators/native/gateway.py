"""The simulated platforms' side of the gateway: this run's webhook secrets, and posting a
native delivery signed the way its platform signs (Stripe-Signature, NetSuite's script HMAC,
Dynamics' WebhookKey `code`, bearer tokens for the Pub/Sub relay, SAP and Oracle)."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from engine.connectors.auth import sign_timestamped
from engine.connectors.settings import ConnectorSettings
from engine.simulators.native.formats.base import NativePost
from engine.simulators.native.formats.dynamics import ORGANIZATION_ID as DYNAMICS_ORG_ID

SALESFORCE_ORG = "00D5g000004Q2cDEMO"
# A platform retries a delivery the gateway could not store (503) or did not answer.
ATTEMPTS = 5
RETRY_S = 0.5


def _secret() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class WebhookSecrets:
    """Fresh secrets for one demo run, shared by the gateway and the simulated platforms."""

    stripe: str = field(default_factory=lambda: "whsec_" + _secret())
    netsuite: str = field(default_factory=_secret)
    dynamics: str = field(default_factory=_secret)
    relay: str = field(default_factory=_secret)
    sap: str = field(default_factory=_secret)
    oracle: str = field(default_factory=_secret)

    def connector_settings(self) -> ConnectorSettings:
        """The gateway's settings that accept exactly these secrets."""
        return ConnectorSettings(
            stripe_endpoint_secrets=SecretStr(self.stripe),
            netsuite_hmac_secret=SecretStr(self.netsuite),
            salesforce_relay_token=SecretStr(self.relay),
            salesforce_organization_id=SALESFORCE_ORG,
            dynamics_webhook_key=SecretStr(self.dynamics),
            dynamics_organization_id=DYNAMICS_ORG_ID,
            sap_bearer_token=SecretStr(self.sap),
            oracle_bearer_token=SecretStr(self.oracle),
        )

    def signed(self, post: NativePost) -> tuple[str, dict[str, str]]:
        """(path with query, headers) of `post` as its platform sends it."""
        path = f"/ingest/{post.route}"
        headers = {**post.headers, "content-type": post.content_type}
        if post.platform == "stripe":
            headers["stripe-signature"] = sign_timestamped(post.body, self.stripe, int(time.time()))
        elif post.platform == "netsuite":
            headers["x-q2c-signature"] = sign_timestamped(
                post.body, self.netsuite, int(time.time())
            )
        elif post.platform == "dynamics":
            path += f"?code={self.dynamics}"
        elif post.route != "salesforce/outbound-message":
            token = {"sap": self.sap, "oracle": self.oracle}.get(post.platform, self.relay)
            headers["authorization"] = f"Bearer {token}"
        return path, headers


class GatewayClient:
    """Posts native deliveries to the gateway, retrying as the platforms do."""

    def __init__(self, base_url: str, webhook_secrets: WebhookSecrets) -> None:
        self.secrets = webhook_secrets
        self._client = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.sent = 0
        self.retried = 0

    async def post(self, native: NativePost) -> None:
        """Deliver `native`; raises after ATTEMPTS failed tries (the gateway never stored it)."""
        path, headers = self.secrets.signed(native)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                reply = await self._client.post(path, content=native.body, headers=headers)
            except httpx.TransportError:
                if attempt == ATTEMPTS:
                    raise
            else:
                if reply.status_code < 300:
                    self.sent += 1
                    return
                if reply.status_code != 503 or attempt == ATTEMPTS:
                    raise RuntimeError(
                        f"gateway refused a {native.platform} delivery: {reply.status_code}"
                    )
            self.retried += 1
            await asyncio.sleep(RETRY_S * attempt)

    async def aclose(self) -> None:
        await self._client.aclose()
