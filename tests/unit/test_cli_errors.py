"""The one-line error translator, the broker probe and the misspelled-variable check."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiokafka.errors import KafkaConnectionError
from pydantic import ValidationError
from typer.testing import CliRunner

from engine.api.config import ApiSettings
from engine.cli.environment import unknown_variables, warning_line
from engine.cli.errors import ExitCode, NotFound, describe, one_line
from engine.cli.main import app
from engine.cli.preflight import BrokerUnreachable, Endpoint, check_broker, endpoints, probe
from engine.cli.run import LogFormat, json_logs
from engine.kafka.connection import NoBrokerError
from engine.settings import Settings, SettingsError, load_settings
from tests.cli_support import free_port, silent_port

__all__ = ["silent_port"]  # a fixture


def test_probe_tells_refused_from_silent(silent_port: int) -> None:
    refused = probe(Endpoint("127.0.0.1", free_port()), speaks_plaintext=True, timeout_s=2)
    assert refused == "connection refused"
    silent = probe(Endpoint("127.0.0.1", silent_port), speaks_plaintext=True, timeout_s=0.5)
    assert silent == "no answer within 0.5s"


def test_unreachable_broker_message_names_address_setting_and_remedy(silent_port: int) -> None:
    settings = Settings(bootstrap_servers=f"127.0.0.1:{silent_port}")
    with pytest.raises(BrokerUnreachable) as caught:
        check_broker(settings, timeout_s=0.2)
    failure = describe(caught.value)
    assert failure is not None and failure.code is ExitCode.FAILED
    assert "\n" not in failure.message
    for part in (f"127.0.0.1:{silent_port}", "Q2C_BOOTSTRAP_SERVERS", "q2c kafka start"):
        assert part in failure.message


def test_endpoints_parse_every_server() -> None:
    assert endpoints("a:1, b:2") == [Endpoint("a", 1), Endpoint("b", 2)]


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (NoBrokerError("no Kafka"), ExitCode.FAILED),
        (SettingsError("invalid configuration: X"), ExitCode.USAGE),
        (NotFound("no saga with key 'x'"), ExitCode.NOT_FOUND),
        (KafkaConnectionError("Unable to bootstrap"), ExitCode.FAILED),
    ],
)
def test_expected_failures_have_their_exit_code(exc: Exception, code: ExitCode) -> None:
    failure = describe(exc)
    assert failure is not None and failure.code is code


def test_a_bug_is_not_translated() -> None:
    assert describe(ZeroDivisionError("division by zero")) is None


def test_kafka_errors_do_not_repeat_the_class_name() -> None:
    failure = describe(KafkaConnectionError("Unable to bootstrap from [x]"))
    assert failure is not None
    assert failure.message.count("KafkaConnectionError") == 1


def test_one_line_joins_indented_details() -> None:
    assert one_line("invalid configuration:\n  A: bad\n  B: worse") == (
        "invalid configuration: A: bad; B: worse"
    )


def test_setting_value_is_quoted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Q2C_BOOTSTRAP_SERVERS", "localhost")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).count("'localhost'") == 1
    assert "\n" not in str(caught.value)


def test_bad_topic_prefix_is_explained_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Q2C_TOPIC_PREFIX", "team a/")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "Q2C_TOPIC_PREFIX" in message and "letters, digits" in message
    assert "' '" in message and "'/'" in message and "^" not in message


def test_api_settings_fail_like_engine_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Q2C_HTTP_ENABLED", "maybe")
    with pytest.raises(ValidationError) as caught:
        ApiSettings()
    failure = describe(caught.value)
    assert failure is not None and failure.code is ExitCode.USAGE
    assert failure.message.startswith("invalid configuration: Q2C_HTTP_ENABLED:")
    assert "'maybe'" in failure.message


def test_misspelled_variable_gets_the_closest_name() -> None:
    found = unknown_variables({"Q2C_PROCESING_MODE": "at_least_once", "Q2C_GROUP_ID": "g"})
    assert found == [("Q2C_PROCESING_MODE", "Q2C_PROCESSING_MODE")]
    assert "did you mean Q2C_PROCESSING_MODE?" in warning_line(*found[0])


def test_unrelated_unknown_variable_gets_no_guess() -> None:
    assert unknown_variables({"Q2C_ZZZ": "1", "PATH": "/bin"}) == [("Q2C_ZZZ", None)]


def test_kafka_stop_says_when_nothing_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Q2C_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["kafka", "stop"])
    assert result.exit_code == 0
    assert "nothing to stop" in result.output and "stopped" not in result.output


@pytest.mark.parametrize(
    ("fmt", "path", "tty", "expected"),
    [
        (LogFormat.auto, None, True, False),  # a person at a terminal: text
        (LogFormat.auto, None, False, True),  # a pipe or a collector: JSON lines
        (LogFormat.auto, Path("q2c.log"), True, True),  # a file: JSON lines
        (LogFormat.text, None, False, False),
        (LogFormat.json, None, True, True),
    ],
)
def test_run_logs_json_unless_a_person_reads_them(
    fmt: LogFormat, path: Path | None, tty: bool, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stderr.isatty", lambda: tty)
    assert json_logs(fmt, path) is expected


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (["sagas", "show"], "error: Missing argument 'key' (see `q2c sagas show --help`)"),
        (["--bogus"], "error: No such option: --bogus (see `q2c --help`)"),
        (["nosuch"], "error: No such command 'nosuch' (see `q2c --help`)"),
        (["sagas", "list", "--state", "x"], "error: No such option: --state"),
    ],
)
def test_usage_errors_are_one_line_with_exit_code_2(args: list[str], wanted: str) -> None:
    result = CliRunner().invoke(app, args, prog_name="q2c")
    assert result.exit_code == ExitCode.USAGE
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(wanted)


def test_usage_error_of_the_installed_command_is_one_line() -> None:
    # The console script as a person runs it (typer's rich box would add 4 lines).
    import subprocess
    import sys

    q2c = Path(sys.executable).with_name("q2c")
    done = subprocess.run(
        [str(q2c), "sagas", "show"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "error: Missing argument 'key' (see `q2c sagas show --help`)"
    ]
