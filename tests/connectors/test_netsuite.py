"""NetSuite connector against the NetSuite emulator: eid upserts and async idempotency keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from engine.connectors.http import HttpConfig
from engine.connectors.netsuite.outbound import NetSuiteConnector
from engine.connectors.outbound.errors import Rejected
from engine.connectors.outbound.service import http_config
from engine.contracts import ProjectCreated
from engine.emulators.netsuite import TBA, NetSuiteEmulator, ns_error
from tests.connectors.conftest import emulator_config
from tests.connectors.samples import close_project, create_project, recognize_revenue


@pytest.fixture
def netsuite() -> Iterator[NetSuiteEmulator]:
    with NetSuiteEmulator().running() as emulator:
        assert isinstance(emulator, NetSuiteEmulator)
        yield emulator


def _connector(netsuite: NetSuiteEmulator, **overrides: object) -> NetSuiteConnector:
    return NetSuiteConnector(emulator_config(netsuite, "netsuite", **overrides))


async def test_create_project_twice_creates_one_customer_and_one_job(
    netsuite: NetSuiteEmulator,
) -> None:
    command = create_project("D-1")
    async with _connector(netsuite) as ns:
        (first,) = await ns.handle(command)
        (second,) = await ns.handle(command)
    assert isinstance(first, ProjectCreated) and isinstance(second, ProjectCreated)
    assert first.project_id == second.project_id
    assert first.envelope.event_id == second.envelope.event_id
    assert netsuite.effects.count("create", "customer") == 1
    assert netsuite.effects.count("create", "job") == 1
    job = netsuite.by_external_id("job", "D-1")
    assert job is not None and job["parent"] == {"externalId": "A-1"}


async def test_replies_say_when_the_effect_happened_by_the_connectors_clock(
    netsuite: NetSuiteEmulator,
) -> None:
    # On a simulated clock (the demo's) a wall-clock stamp would put the reply days before
    # the events around it, and cycle times measured from it would be negative.
    then = datetime(2031, 5, 4, 3, 2, 1, tzinfo=UTC)
    async with NetSuiteConnector(emulator_config(netsuite, "netsuite"), clock=lambda: then) as ns:
        (created,) = await ns.handle(create_project("D-1"))
    assert created.envelope.occurred_at == then


async def test_close_project_updates_the_job_by_its_internal_id(netsuite: NetSuiteEmulator) -> None:
    async with _connector(netsuite) as ns:
        (created,) = await ns.handle(create_project("D-1"))
        assert isinstance(created, ProjectCreated)
        await ns.handle(close_project(created.project_id))
    job = netsuite.by_external_id("job", "D-1")
    assert job is not None and job["entityStatus"] == {"id": "CLOSED"}


async def test_recognize_revenue_redelivered_creates_one_journal_entry(
    netsuite: NetSuiteEmulator,
) -> None:
    command = recognize_revenue("D-1")
    async with _connector(netsuite) as ns:
        await ns.handle(command)
        await ns.handle(command)  # 400 IDEMPOTENCY_ERROR: already done, not an error
    assert netsuite.effects.count("create", "journalEntry") == 1
    assert len(netsuite.job_keys) == 1


async def test_a_lost_reply_then_a_retry_is_still_one_journal_entry(
    netsuite: NetSuiteEmulator,
) -> None:
    netsuite.lose_replies(1, delay_s=1.5)
    command = recognize_revenue("D-1")
    async with _connector(netsuite, timeout_s=0.5) as ns:
        with pytest.raises(Exception, match="timed out"):
            await ns.handle(command)
        await ns.handle(command)  # what the runner's retry does
    assert netsuite.effects.count("create", "journalEntry") == 1


async def test_validation_error_is_permanent_with_code_and_path(netsuite: NetSuiteEmulator) -> None:
    netsuite.required["customer"] = ("subsidiary",)
    async with _connector(netsuite) as ns:
        with pytest.raises(Rejected) as caught:
            await ns.handle(create_project("D-1"))
    assert (caught.value.code, caught.value.path) == ("USER_ERROR", "subsidiary")
    assert "Acme" not in str(caught.value)  # payload values stay out of the error
    assert netsuite.effects.count() == 0


async def test_the_restlet_limit_code_is_a_rate_limit_not_a_failure(
    netsuite: NetSuiteEmulator,
) -> None:
    netsuite.fail_next(1, 400, json.loads(bytes(ns_error(400, "SSS_REQUEST_LIMIT_EXCEEDED").body)))
    async with _connector(netsuite, max_retry_after_s=1.0) as ns:
        await ns.handle(create_project("D-1"))
    assert netsuite.effects.count("create", "job") == 1


def _tba_config(netsuite: NetSuiteEmulator, **changes: object) -> HttpConfig:
    tba = TBA.model_copy(update=changes)
    return HttpConfig(platform="netsuite", base_url=netsuite.base_url, tba=tba)


async def test_token_based_auth_signs_every_request_with_hmac_sha256(
    netsuite: NetSuiteEmulator,
) -> None:
    async with NetSuiteConnector(_tba_config(netsuite)) as ns:
        (created,) = await ns.handle(create_project("D-1"))
        await ns.handle(close_project(created.project_id))  # type: ignore[attr-defined]
    assert netsuite.effects.count("create", "job") == 1
    assert netsuite.effects.count("update", "job") == 1
    assert netsuite.tokens_issued == 0  # no OAuth 2.0 token was involved
    assert netsuite.tba_requests == netsuite.requests  # each request checked, each one valid


@pytest.mark.parametrize(
    "wrong",
    [
        {"token_secret": SecretStr("not-the-token-secret")},
        {"consumer_secret": SecretStr("not-the-consumer-secret")},
        {"account_id": "7654321"},  # realm of another account
    ],
)
async def test_token_based_auth_with_a_wrong_credential_is_refused(
    netsuite: NetSuiteEmulator, wrong: dict[str, object]
) -> None:
    async with NetSuiteConnector(_tba_config(netsuite, **wrong)) as ns:
        with pytest.raises(Rejected) as refused:
            await ns.handle(create_project("D-1"))
    assert refused.value.status == 401
    assert netsuite.effects.all() == []


def test_token_based_auth_from_settings_keeps_secrets_out_of_sight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "BASE_URL": "http://127.0.0.1:9",
        "ACCOUNT_ID": "1234567_SB1",
        "CONSUMER_KEY": "ck",
        "CONSUMER_SECRET": "cs-very-secret",
        "TOKEN_ID": "tk",
        "TOKEN_SECRET": "ts-very-secret",
    }.items():
        monkeypatch.setenv(f"Q2C_NETSUITE_{name}", value)
    config = http_config("netsuite")
    assert config.tba is not None and config.tba.account_id == "1234567_SB1"
    assert "very-secret" not in repr(config) and "very-secret" not in str(config)
    assert config.tba.token_secret.get_secret_value() == "ts-very-secret"
    monkeypatch.delenv("Q2C_NETSUITE_TOKEN_SECRET")
    with pytest.raises(ValueError, match="Q2C_NETSUITE_TOKEN_SECRET"):
        http_config("netsuite")
