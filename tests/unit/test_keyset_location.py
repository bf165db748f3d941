"""Where the field keyset comes from (environment or the TOML config file, like every setting),
and what a user sees when it is missing or a key was removed: one `error:` line, no traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.errors import ExitCode, describe
from engine.cli.main import app
from engine.security import protection
from engine.security.keyring import FileKeysetProvider, Keyring, KeyUnavailable

runner = CliRunner()


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(protection.KEYSET_ENV, raising=False)
    monkeypatch.delenv("Q2C_CONFIG_FILE", raising=False)
    protection.active.cache_clear()
    yield
    protection.active.cache_clear()


def keyset(path: Path) -> FileKeysetProvider:
    provider = FileKeysetProvider(path)
    provider.save(Keyring.generate())
    return provider


def test_the_keyset_file_may_be_named_in_the_toml_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = keyset(tmp_path / "keys.json")
    config = tmp_path / "q2c.toml"
    config.write_text(f'field_keyset_file = "{provider.path}"\n')
    monkeypatch.setenv("Q2C_CONFIG_FILE", str(config))
    assert protection.keyset_file() == provider.path
    keyring = protection.active().keyring
    assert keyring is not None
    sealed = provider.load().seal(b"150.00", b"ad")
    assert keyring.open(sealed, b"ad") == b"150.00"  # the same keys as the file's
    listed = runner.invoke(app, ["keys", "list"])  # no --keyset: the config file's
    assert listed.exit_code == 0 and str(next(provider.load().key_infos()).key_id) in listed.output


def test_the_environment_wins_over_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "q2c.toml"
    config.write_text(f'field_keyset_file = "{tmp_path / "from-toml.json"}"\n')
    monkeypatch.setenv("Q2C_CONFIG_FILE", str(config))
    monkeypatch.setenv(protection.KEYSET_ENV, str(tmp_path / "from-env.json"))
    assert protection.keyset_file() == tmp_path / "from-env.json"


def test_no_keyset_configured_means_no_sealing() -> None:
    assert protection.keyset_file() is None and protection.active().keyring is None


def test_a_missing_keyset_file_is_one_line_naming_setting_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "gone.json"
    monkeypatch.setenv(protection.KEYSET_ENV, str(missing))
    # A command that reads topics checks the keyset first: no broker is tried at all.
    result = runner.invoke(
        app, ["sagas", "show", "D-1"], env={"Q2C_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    )
    assert result.exit_code == ExitCode.USAGE, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"error: {protection.KEYSET_ENV}: keyset file {missing}")
    assert "Traceback" not in result.output
    listed = runner.invoke(app, ["keys", "list"])
    assert listed.exit_code == ExitCode.USAGE and listed.output.count("\n") == 1
    assert listed.output.startswith("error: ") and str(missing) in listed.output


def test_a_keyset_that_is_not_one_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "keys.json"
    bad.write_text('{"aead": "nope"}')
    monkeypatch.setenv(protection.KEYSET_ENV, str(bad))
    result = runner.invoke(app, ["keys", "rotate"])
    assert result.exit_code == ExitCode.USAGE
    assert result.output == (
        f"error: {protection.KEYSET_ENV}: keyset file {bad} is not a q2c keyset (aead + daead)\n"
    )


def test_a_saga_state_under_a_removed_key_fails_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = keyset(tmp_path / "keys.json")
    monkeypatch.setenv(protection.KEYSET_ENV, str(provider.path))
    sealed = protection.seal_state(b'{"state": "active"}')
    old = next(k.key_id for k in provider.load().key_infos() if k.purpose == "aead")
    provider.save(provider.load().rotated())
    provider.save(provider.load().without(old))
    protection.active.cache_clear()
    with pytest.raises(KeyUnavailable) as caught:
        protection.open_state(sealed)
    failure = describe(caught.value)
    assert failure is not None and failure.code == ExitCode.FAILED
    assert failure.message == (
        f"sealed saga state: encrypted under key {old}, which is not in the keyset (removed?)"
    )


def test_removing_an_unknown_key_is_refused_in_one_line(tmp_path: Path) -> None:
    path = keyset(tmp_path / "keys.json").path
    result = runner.invoke(app, ["keys", "remove", "12345", "--keyset", str(path)])
    assert result.exit_code == ExitCode.FAILED
    assert result.output == "error: no key 12345 in the keyset\n"


@pytest.mark.parametrize(
    "args",
    [
        ["gateway"],
        ["translate"],
        ["connectors", "run", "--crm", "salesforce"],
        ["connectors", "poll-oracle"],
        ["demo", "--deals", "1"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_commands_that_start_without_reading_topics_check_the_keyset_first(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "gone.json"
    monkeypatch.setenv(protection.KEYSET_ENV, str(missing))
    result = runner.invoke(app, args, env={"Q2C_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    assert result.exit_code == ExitCode.USAGE, result.output
    assert result.output.strip().splitlines() == [
        f"error: {protection.KEYSET_ENV}: keyset file {missing}: No such file or directory"
    ]
