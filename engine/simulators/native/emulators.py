"""The local platforms a `--platforms` demo talks to: one emulator per chosen platform
(Certinia shares the Salesforce org when both are chosen), Stripe in front of Stripe's
stripe-mock when it is installed, and each connection's `HttpConfig`."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr

from engine.connectors.http import HttpConfig
from engine.emulators import stripe_mock
from engine.emulators.base import CLIENT_ID, CLIENT_SECRET, Emulator
from engine.emulators.dynamics import DynamicsEmulator
from engine.emulators.netsuite import NetSuiteEmulator
from engine.emulators.oracle import OracleEmulator
from engine.emulators.salesforce import SalesforceEmulator
from engine.emulators.sap import SapEmulator
from engine.emulators.stripe import StripeEmulator
from engine.simulators.native.choice import PlatformChoice

STRIPE_TEST_KEY = "sk_test_q2cdemo"
# The connectors' client-side limit stays under the emulators' (a platform's own limit), so
# rate-limit replies are rare but handled as the platform sends them.
CLIENT_RATE_PER_S = 40.0
CLIENT_CONCURRENCY = 8
PLATFORM_RATE_PER_S = 50.0
EMULATORS: dict[str, Callable[[], Emulator]] = {
    "salesforce": lambda: SalesforceEmulator(rate_per_s=PLATFORM_RATE_PER_S),
    "certinia": lambda: SalesforceEmulator(rate_per_s=PLATFORM_RATE_PER_S),
    "dynamics": lambda: DynamicsEmulator(rate_per_s=PLATFORM_RATE_PER_S),
    "netsuite": lambda: NetSuiteEmulator(rate_per_s=PLATFORM_RATE_PER_S),
    "sap": lambda: SapEmulator(rate_per_s=PLATFORM_RATE_PER_S),
    "oracle": lambda: OracleEmulator(rate_per_s=PLATFORM_RATE_PER_S),
}


class PlatformEmulators:
    """Starts and stops the chosen platforms' emulators; `config(platform)` connects to one."""

    def __init__(self, choice: PlatformChoice) -> None:
        self.choice = choice
        self.emulators: dict[str, Emulator] = {}
        for platform in (choice.crm, choice.erp):  # the CRM first: Certinia may share its org
            org = self.emulators.get("salesforce") if platform == "certinia" else None
            self.emulators[platform] = org or EMULATORS[platform]()
        self.stripe_mock = stripe_mock.find_binary()
        self._stack = contextlib.ExitStack()

    @property
    def stripe_note(self) -> str:
        """Whether Stripe's requests were checked against Stripe's API specification."""
        if self.stripe_mock is not None:
            return f"requests validated by stripe-mock ({self.stripe_mock})"
        return (
            "stripe-mock not installed, so requests were not validated against Stripe's API "
            f"specification (install: {stripe_mock.INSTALL_HINT})"
        )

    def start(self) -> None:
        """Start every emulator (threads) and stripe-mock (a process, stopped by pid)."""
        try:
            upstream = None
            if self.stripe_mock is not None:
                log = Path(tempfile.mkdtemp(prefix="q2c-demo-")) / "stripe-mock.log"
                upstream = self._stack.enter_context(stripe_mock.stripe_mock(self.stripe_mock, log))
            self.emulators[self.choice.billing] = StripeEmulator(
                upstream=upstream, rate_per_s=PLATFORM_RATE_PER_S
            )
            for emulator in dict.fromkeys(self.emulators.values()):
                self._stack.enter_context(emulator.running())
        except BaseException:
            self._stack.close()
            raise

    def stop(self) -> None:
        self._stack.close()

    def config(self, platform: str) -> HttpConfig:
        """How the connector (and read-backs) of `platform` reach its emulator."""
        emulator = self.emulators[platform]
        if isinstance(emulator, StripeEmulator):
            return HttpConfig(
                platform=platform,
                base_url=emulator.base_url,
                api_key=SecretStr(STRIPE_TEST_KEY),
                rate_per_s=CLIENT_RATE_PER_S,
                concurrency=CLIENT_CONCURRENCY,
            )
        return HttpConfig(
            platform=platform,
            base_url=emulator.base_url,
            rate_per_s=CLIENT_RATE_PER_S,
            concurrency=CLIENT_CONCURRENCY,
            token_url=f"{emulator.base_url}/oauth/token",
            client_id=CLIENT_ID,
            client_secret=SecretStr(CLIENT_SECRET),
        )
