"""PlatformHttp against an emulator: outage -> circuit opens -> recovers; limiter pacing; secrets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from engine.connectors.http import HttpConfig, PlatformHttp
from engine.connectors.outbound import metrics
from engine.connectors.outbound.circuit import CircuitState
from engine.connectors.outbound.errors import CircuitOpen, PlatformError, Rejected
from engine.emulators.base import CLIENT_SECRET
from engine.emulators.netsuite import NetSuiteEmulator
from tests.connectors.conftest import emulator_config

CUSTOMER = "/services/rest/record/v1/customer/eid:A-1"


@pytest.fixture
def netsuite() -> Iterator[NetSuiteEmulator]:
    with NetSuiteEmulator().running() as emulator:
        assert isinstance(emulator, NetSuiteEmulator)
        yield emulator


async def test_an_outage_opens_the_circuit_and_a_trial_closes_it(
    netsuite: NetSuiteEmulator,
) -> None:
    config = emulator_config(netsuite, "netsuite", breaker_threshold=3, breaker_reset_s=0.5)
    netsuite.outage(1.0)
    async with PlatformHttp(config) as http:
        for _ in range(3):
            with pytest.raises(PlatformError, match="HTTP 503"):
                await http.request("PUT", CUSTOMER, json={"companyName": "x"})
        sent = netsuite.requests
        with pytest.raises(CircuitOpen):
            await http.request("PUT", CUSTOMER, json={"companyName": "x"})
        assert netsuite.requests == sent  # not sent while open
        assert metrics.CIRCUIT_STATE.labels("netsuite")._value.get() == CircuitState.OPEN
        await asyncio.sleep(1.1)  # the outage ends; the breaker lets a trial through
        await http.request("PUT", CUSTOMER, json={"companyName": "x"})
        assert http.breaker.state is CircuitState.CLOSED
    assert netsuite.effects.count("create", "customer") == 1


async def test_the_limiter_spaces_requests_and_counts_its_waits(netsuite: NetSuiteEmulator) -> None:
    config = emulator_config(netsuite, "netsuite", rate_per_s=20.0, concurrency=2)
    async with PlatformHttp(config) as http:
        await asyncio.gather(
            *(http.request("PUT", f"{CUSTOMER}{n}", json={"companyName": "x"}) for n in range(10))
        )
        assert http.limiter.waits >= 8  # all but the first one or two waited for a slot
    assert netsuite.effects.count("create", "customer") == 10


async def test_wrong_credentials_are_permanent_and_the_secret_never_shows(
    netsuite: NetSuiteEmulator,
) -> None:
    config = HttpConfig(
        platform="netsuite",
        base_url=netsuite.base_url,
        token_url=f"{netsuite.base_url}/oauth/token",
        client_id="q2c-test-client",
        client_secret=SecretStr("not-" + CLIENT_SECRET),
    )
    assert CLIENT_SECRET not in repr(config) and CLIENT_SECRET not in str(config.model_dump())
    with pytest.raises(Rejected) as caught:
        async with PlatformHttp(config):
            pass
    assert "not-" + CLIENT_SECRET not in str(caught.value)
