"""Client security options from settings: TLS context, SASL credentials, secrets never shown."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.main import app
from engine.kafka.connection import NoBrokerError, resolve_bootstrap
from engine.kafka.security import SecurityConfigError, security_options
from engine.localkafka.cluster import LocalCluster
from engine.localkafka.config import NodeSpec
from engine.localkafka.secure import create_material
from engine.settings import SecurityProtocol, Settings, SettingsError, load_settings

CANARY = "canary-Pa55word-7f3e"


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    return create_material(tmp_path / "sec", []).ca_file


def sasl_ssl(ca: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "security_protocol": SecurityProtocol.SASL_SSL,
        "ssl_cafile": ca,
        "sasl_username": "q2c-worker",
        **extra,
    }
    return Settings(**values)  # type: ignore[arg-type]


def test_plaintext_has_no_tls_and_no_credentials() -> None:
    assert security_options(Settings()) == {"security_protocol": "PLAINTEXT"}


def test_sasl_ssl_reads_the_password_file_and_verifies_the_broker(ca: Path, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(CANARY + "\n")
    opts = security_options(sasl_ssl(ca, sasl_password_file=secret))
    assert opts["security_protocol"] == "SASL_SSL"
    assert opts["sasl_mechanism"] == "SCRAM-SHA-512"  # the default with SASL
    assert opts["sasl_plain_username"] == "q2c-worker"
    assert opts["sasl_plain_password"] == CANARY  # trailing newline of the file dropped
    context = opts["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


def test_a_rotated_password_file_is_read_by_the_next_client(ca: Path, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("old")
    settings = sasl_ssl(ca, sasl_password_file=secret)
    assert security_options(settings)["sasl_plain_password"] == "old"
    secret.write_text("new")
    assert security_options(settings)["sasl_plain_password"] == "new"


def test_password_from_the_environment_is_a_secret(
    ca: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("Q2C_SASL_PASSWORD", CANARY)
    settings = load_settings(security_protocol="SASL_SSL", ssl_cafile=ca, sasl_username="u")
    assert CANARY not in repr(settings) and CANARY not in str(settings.model_dump())
    assert security_options(settings)["sasl_plain_password"] == CANARY


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({}, "Q2C_SASL_PASSWORD_FILE"),
        ({"sasl_password_file": Path("/nonexistent/pw")}, "Q2C_SASL_PASSWORD_FILE"),
        ({"sasl_username": None, "sasl_password": CANARY}, "Q2C_SASL_USERNAME"),
        ({"sasl_mechanism": "GSSAPI", "sasl_password": CANARY}, "Q2C_SASL_MECHANISM"),
        ({"ssl_cafile": Path("/nonexistent/ca.pem")}, "Q2C_SSL_CAFILE"),
        ({"ssl_keyfile": Path(__file__), "sasl_password": CANARY}, "Q2C_SSL_KEYFILE"),
    ],
)
def test_incomplete_settings_name_the_setting_not_the_secret(
    ca: Path, extra: dict[str, object], named: str
) -> None:
    with pytest.raises(SecurityConfigError, match=named) as info:
        security_options(sasl_ssl(ca, **extra))
    assert CANARY not in str(info.value)
    assert isinstance(info.value, SettingsError)  # the CLIs print it as one line


def test_a_malformed_secret_is_not_echoed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "q2c.toml"
    cfg.write_text("sasl_password = 731946285\nhttp_port = 999999\n")
    monkeypatch.setenv("Q2C_CONFIG_FILE", str(cfg))
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "Q2C_SASL_PASSWORD" in message and "731946285" not in message
    assert "999999" in message  # ordinary values are still echoed, to help fix them


def test_help_never_shows_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Q2C_SASL_PASSWORD", CANARY)
    runner = CliRunner()
    for args in (["--help"], ["kafka", "start", "--help"], ["acls", "--help"], ["run", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert CANARY not in result.output


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"Q2C_SECURITY_PROTOCOL": "SASL_SSL", "Q2C_SASL_USERNAME": "u"}, "Q2C_SASL_PASSWORD_FILE"),
        ({"Q2C_API_OPERATOR_TOKENS_FILE": "/nonexistent/tokens"}, "Q2C_API_OPERATOR_TOKENS_FILE"),
    ],
)
def test_q2c_run_reports_a_bad_security_setting_in_one_line(
    env: dict[str, str], named: str
) -> None:
    # The port is never contacted: both settings fail before any connection.
    base = {"Q2C_BOOTSTRAP_SERVERS": "127.0.0.1:9", "Q2C_HTTP_PORT": "0", "Q2C_SASL_PASSWORD": ""}
    result = CliRunner().invoke(app, ["run", "--log-format", "text"], env={**base, **env})
    assert result.exit_code == 2, result.output
    assert named in result.output and "Traceback" not in result.output


def test_a_secured_local_broker_is_not_reached_in_plaintext(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("Q2C_HOME", str(tmp_path))
    node = NodeSpec(1, 19092, 19093, tmp_path / "data")
    running = {1: os.getpid()}  # a live pid stands for the broker's JVM
    LocalCluster("default", tmp_path / "kafka" / "default", [node], running, secure=True).save()
    with pytest.raises(NoBrokerError, match="secured"):
        resolve_bootstrap(Settings())
    assert resolve_bootstrap(sasl_ssl(Path("unused"))) == "127.0.0.1:19092"
