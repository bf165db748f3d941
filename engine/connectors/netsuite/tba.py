"""NetSuite token-based authentication: OAuth 1.0a request signing with HMAC-SHA256.

NetSuite's alternative to OAuth 2.0 M2M: every request carries an `Authorization: OAuth ...`
header signed with the integration record's consumer key/secret and the user's access
token/secret, `oauth_signature_method="HMAC-SHA256"` and `realm` = the account id (upper
case, `_` for sandboxes: `1234567_SB1`). authlib builds the header, the nonce, the timestamp
and the RFC 5849 signature base string; it ships HMAC-SHA1 only, so this module adds the
SHA-256 signer NetSuite requires (the same construction with another digest).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import warnings
from collections.abc import Generator
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

with warnings.catch_warnings():
    from authlib.deprecate import AuthlibDeprecationWarning

    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth1Auth
    from authlib.integrations.httpx_client.utils import build_request
    from authlib.oauth1.rfc5849.signature import generate_signature_base_string
    from authlib.oauth1.rfc5849.util import escape

SIGNATURE_HMAC_SHA256 = "HMAC-SHA256"


class TokenBasedAuth(BaseModel):
    """The four TBA credentials and the account; secrets stay `SecretStr`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str = Field(min_length=1, description="realm, e.g. 1234567 or 1234567_SB1")
    consumer_key: str = Field(min_length=1)
    consumer_secret: SecretStr
    token_id: str = Field(min_length=1)
    token_secret: SecretStr


def hmac_sha256_signature(base_string: str, client_secret: str, token_secret: str) -> str:
    """RFC 5849 §3.4.2 with SHA-256: key = escaped secrets joined by `&`, base64 digest."""
    key = f"{escape(client_secret or '')}&{escape(token_secret or '')}"
    digest = hmac.new(key.encode(), base_string.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _sign_hmac_sha256(client: Any, request: Any) -> str:
    base = generate_signature_base_string(request)
    return hmac_sha256_signature(base, client.client_secret, client.token_secret)


class _NetSuiteOAuth1(OAuth1Auth):
    # A class of its own, so registering the signer leaves authlib's global table alone.
    SIGNATURE_METHODS = {**OAuth1Auth.SIGNATURE_METHODS, SIGNATURE_HMAC_SHA256: _sign_hmac_sha256}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # authlib signs a JSON body as empty (RFC 5849 covers form bodies only), as NetSuite
        # expects, but then also *sends* it empty; keep the body that was signed around.
        url, headers, body = self.prepare(
            request.method, str(request.url), request.headers, request.content
        )
        content = body or request.content
        headers["Content-Length"] = str(len(content))
        yield build_request(url=url, headers=headers, body=content, initial_request=request)


def tba_auth(tba: TokenBasedAuth) -> Any:
    """An httpx `Auth` that signs every request for NetSuite TBA."""
    return _NetSuiteOAuth1(
        client_id=tba.consumer_key,
        client_secret=tba.consumer_secret.get_secret_value(),
        token=tba.token_id,
        token_secret=tba.token_secret.get_secret_value(),
        signature_method=SIGNATURE_HMAC_SHA256,
        realm=tba.account_id,
    )
