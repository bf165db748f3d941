from __future__ import annotations

import pytest

from engine.settings import ProcessingMode, SettingsError, load_settings


def test_environment_sets_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Q2C_BOOTSTRAP_SERVERS", "a:9092,b:9093")
    monkeypatch.setenv("Q2C_PROCESSING_MODE", "at_least_once")
    s = load_settings()
    assert s.bootstrap_servers == "a:9092,b:9093"
    assert s.processing_mode is ProcessingMode.AT_LEAST_ONCE


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("Q2C_HTTP_PORT", "not-a-port"),
        ("Q2C_BOOTSTRAP_SERVERS", "nohostport"),
        ("Q2C_PROCESSING_MODE", "twice"),
    ],
)
def test_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch, var: str, value: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError, match=var):
        load_settings()


def test_config_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "q2c.toml"
    cfg.write_text('group_id = "from-file"\n')
    monkeypatch.setenv("Q2C_CONFIG_FILE", str(cfg))
    assert load_settings().group_id == "from-file"


def test_missing_config_file_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Q2C_CONFIG_FILE", "/nonexistent/q2c.toml")
    with pytest.raises(SettingsError, match="Q2C_CONFIG_FILE"):
        load_settings()
