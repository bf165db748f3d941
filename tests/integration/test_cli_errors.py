"""Every command, run as a user would, fails with one actionable line and a meaningful code."""

from __future__ import annotations

import asyncio
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.cli.errors import ExitCode
from engine.settings import Settings
from engine.topics import ensure_topics
from tests.cli_support import free_port, q2c, silent_port

__all__ = ["silent_port"]  # a fixture

FIXTURE = "tests/fixtures/events/closed-won.json"
BROKER_COMMANDS = [
    ("topics", "plan"),
    ("topics", "apply"),
    ("dlq", "list"),
    ("dlq", "replay", "--yes"),
    ("dlq", "replays"),
    ("dlq", "purge", "--error", "DecodeError", "--yes"),
    ("sagas", "show", "deal-1"),
    ("exceptions", "list"),
    ("exceptions", "retry", "deal-1"),
    ("publish", "--type", "closed-won", "--file", FIXTURE),
    ("run", "--no-http"),
    ("replay", "--from", "2026-01-01T00:00:00Z"),
    ("state", "rebuild"),
]


def _all(address: str) -> list[tuple[tuple[str, ...], subprocess.CompletedProcess[str]]]:
    env = {"Q2C_BOOTSTRAP_SERVERS": address}
    # In parallel: each is a fresh interpreter that mostly waits.
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = list(pool.map(lambda args: q2c(*args, env=env), BROKER_COMMANDS))
    return list(zip(BROKER_COMMANDS, done, strict=True))


def _assert_one_line(address: str, reason: str) -> None:
    for args, result in _all(address):
        lines = result.stderr.strip().splitlines()
        assert result.returncode == ExitCode.FAILED, (args, result.stderr)
        assert len(lines) == 1, (args, result.stderr)
        line = lines[0]
        assert line.startswith("error: Kafka at " + address), (args, line)
        assert reason in line and "Q2C_BOOTSTRAP_SERVERS" in line, (args, line)
        assert "q2c kafka start" in line, (args, line)


def test_refused_port_gives_one_line_for_every_command() -> None:
    port = free_port()
    _assert_one_line(f"127.0.0.1:{port}", "connection refused")


def test_port_that_never_answers_gives_one_line_for_every_command(silent_port: int) -> None:
    _assert_one_line(f"127.0.0.1:{silent_port}", "no answer within")


def test_no_broker_and_no_setting(tmp_path: pytest.TempPathFactory) -> None:
    result = q2c("dlq", "list", env={"Q2C_HOME": str(tmp_path)})
    assert result.returncode == ExitCode.FAILED
    assert result.stderr.strip().splitlines() == [
        "error: no Kafka: set Q2C_BOOTSTRAP_SERVERS, or start the local broker with "
        "`q2c kafka start`"
    ]


def test_debug_shows_the_traceback() -> None:
    address = f"127.0.0.1:{free_port()}"
    flag = q2c("--debug", "exceptions", "list", env={"Q2C_BOOTSTRAP_SERVERS": address})
    by_env = q2c(
        "exceptions", "list", env={"Q2C_BOOTSTRAP_SERVERS": address, "Q2C_LOG_LEVEL": "debug"}
    )
    for result in (flag, by_env):
        assert result.returncode == ExitCode.FAILED
        assert "Traceback (most recent call last)" in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("error: Kafka at ")


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        (
            {"Q2C_HTTP_ENABLED": "maybe"},
            ("run",),
            "Q2C_HTTP_ENABLED: Input should be a valid boolean",
        ),
        (
            {"Q2C_TOPIC_PREFIX": "a b"},
            ("dlq", "list"),
            "Q2C_TOPIC_PREFIX: may contain only letters",
        ),
        ({"Q2C_BOOTSTRAP_SERVERS": "localhost"}, ("topics", "plan"), "expected host:port"),
    ],
)
def test_bad_settings_are_one_line_usage_errors(
    env: dict[str, str], args: tuple[str, ...], expected: str
) -> None:
    result = q2c(*args, env=env)
    assert result.returncode == ExitCode.USAGE, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert lines[0].startswith("error: invalid configuration: ")


def test_demo_time_scale_zero_is_a_usage_error() -> None:
    result = q2c("demo", "--time-scale", "0", env={})
    assert result.returncode == ExitCode.USAGE
    assert "--time-scale" in result.stderr


def test_misspelled_variable_is_reported() -> None:
    result = q2c(
        "publish",
        "--type",
        "closed-won",
        "--file",
        FIXTURE,
        "--dry-run",
        env={"Q2C_PROCESING_MODE": "at_least_once"},
    )
    assert result.returncode == ExitCode.OK, result.stderr
    assert (
        "warning: Q2C_PROCESING_MODE is not a q2c setting and is ignored "
        "(did you mean Q2C_PROCESSING_MODE?)"
    ) in result.stderr


@pytest.mark.parametrize(
    "args",
    [("run", "--no-http"), ("dlq", "list"), ("sagas", "show", "deal-1"), ("state", "rebuild")],
)
def test_a_cluster_without_the_topics_says_to_apply_them(
    kafka_bootstrap: str, unique: str, args: tuple[str, ...]
) -> None:
    env = {"Q2C_BOOTSTRAP_SERVERS": kafka_bootstrap, "Q2C_TOPIC_PREFIX": f"empty{unique}."}
    result = q2c(*args, env=env)
    assert result.returncode == ExitCode.FAILED, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "run `q2c topics apply`" in lines[0], result.stderr
    assert kafka_bootstrap in lines[0]


def test_not_found_is_told_apart_from_failed(kafka_bootstrap: str, unique: str) -> None:
    settings = Settings(bootstrap_servers=kafka_bootstrap, topic_prefix=f"nf{unique}.")
    asyncio.run(ensure_topics(settings))
    env = {"Q2C_BOOTSTRAP_SERVERS": kafka_bootstrap, "Q2C_TOPIC_PREFIX": settings.topic_prefix}
    result = q2c("sagas", "show", "no-such-deal", env=env)
    assert result.returncode == ExitCode.NOT_FOUND, result.stderr
    assert result.stderr.strip() == "error: no saga with key 'no-such-deal'"
