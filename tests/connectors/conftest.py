"""Fixtures of the connector tests: stripe-mock, emulators and client configurations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from engine.connectors.http import HttpConfig
from engine.emulators import stripe_mock as sm
from engine.emulators.base import CLIENT_ID, CLIENT_SECRET, Emulator


@pytest.fixture(scope="session")
def stripe_mock_url(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of Stripe's official stripe-mock, one process for the session."""
    if not sm.binary(repo_root).is_file():
        pytest.fail("stripe-mock is not installed: run scripts/install_stripe_mock.sh")
    log = tmp_path_factory.mktemp("stripe-mock") / "stripe-mock.log"
    with sm.stripe_mock(sm.binary(repo_root), log) as url:
        yield url


def stripe_config(url: str, **overrides: Any) -> HttpConfig:
    # stripe-mock accepts any test-mode key.
    return HttpConfig(
        platform="stripe", base_url=url, api_key=SecretStr("sk_test_q2c"), **overrides
    )


def emulator_config(emulator: Emulator, platform: str, **overrides: Any) -> HttpConfig:
    """OAuth client-credentials configuration against an emulator's token endpoint."""
    return HttpConfig(
        platform=platform,
        base_url=emulator.base_url,
        token_url=f"{emulator.base_url}/oauth/token",
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
        **overrides,
    )
