"""`q2c rewind` moves the group back in time; `q2c replay --from` stays as its hidden alias."""

from __future__ import annotations

from typer.testing import CliRunner

from engine.cli.main import app


def test_rewind_is_listed_and_replay_is_a_hidden_alias_of_it() -> None:
    listing = CliRunner().invoke(app, ["--help"]).output
    assert "rewind" in listing
    assert " replay " not in listing
    for name in ("rewind", "replay"):
        result = CliRunner().invoke(app, [name, "--help"])
        assert result.exit_code == 0, result.output
        assert "Move the worker group back to TIME" in result.output
