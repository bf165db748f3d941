"""KafkaConnection: built once from settings, frozen, secrets hidden, rendered as aiokafka options."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from engine.kafka.connection import KafkaConnection
from engine.kafka.security import SecurityConfigError
from engine.settings import SecurityProtocol, Settings

CANARY = "canary-Pa55word-7f3e"
BROKER = "127.0.0.1:19092"


def sasl(**extra: object) -> Settings:
    values: dict[str, object] = {
        "bootstrap_servers": BROKER,
        "security_protocol": SecurityProtocol.SASL_PLAINTEXT,
        "sasl_username": "q2c-worker",
        "client_id": "q2c-test",
        **extra,
    }
    return Settings(**values)  # type: ignore[arg-type]


def test_options_carry_brokers_protocol_and_credentials(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(CANARY + "\n")
    connection = KafkaConnection.from_settings(sasl(sasl_password_file=secret))
    assert connection.client_id == "q2c-test"
    assert connection.options() == {
        "bootstrap_servers": BROKER,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "q2c-worker",
        "sasl_plain_password": CANARY,
    }


def test_plaintext_renders_no_credentials() -> None:
    options = KafkaConnection.from_settings(Settings(bootstrap_servers=BROKER)).options()
    assert options == {"bootstrap_servers": BROKER, "security_protocol": "PLAINTEXT"}


def test_the_password_never_shows_and_the_object_is_frozen() -> None:
    connection = KafkaConnection.from_settings(sasl(sasl_password=CANARY))
    assert CANARY not in repr(connection) and CANARY not in str(connection)
    with pytest.raises(ValidationError):
        connection.bootstrap_servers = "elsewhere:9092"


def test_an_incomplete_setting_fails_when_built_naming_it() -> None:
    with pytest.raises(SecurityConfigError, match="needs Q2C_SASL_USERNAME"):
        KafkaConnection.from_settings(sasl(sasl_username=None, sasl_password=CANARY))


def test_a_rotated_password_file_reaches_the_next_client(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("old")
    connection = KafkaConnection.from_settings(sasl(sasl_password_file=secret))
    assert connection.options()["sasl_plain_password"] == "old"
    secret.write_text("new")
    assert connection.options()["sasl_plain_password"] == "new"
