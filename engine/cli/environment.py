"""Spots misspelled `Q2C_*` variables, which pydantic-settings would silently ignore."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

import typer

from engine.api.config import ApiSettings
from engine.settings import Settings

# Variables read outside the settings classes: config file, paths, log options, the test suite.
OTHER_VARIABLES = frozenset(
    {
        "Q2C_CONFIG_FILE",
        "Q2C_ROOT",
        "Q2C_HOME",
        "Q2C_LOG_LEVEL",
        "Q2C_LOG_FORMAT",
        "Q2C_LOG_FILE",
        "Q2C_TEST_KAFKA",
        "Q2C_TEST_BOOTSTRAP",
    }
)


def known_variables() -> frozenset[str]:
    """Every `Q2C_*` name q2c reads."""
    fields = {*Settings.model_fields, *ApiSettings.model_fields}
    return OTHER_VARIABLES | {f"Q2C_{f.upper()}" for f in fields}


def unknown_variables(environ: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """`Q2C_*` names q2c does not read, each with the closest known name (or None)."""
    known = known_variables()
    out = []
    for name in sorted(environ):
        if name.upper().startswith("Q2C_") and name not in known:
            close = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.75)
            out.append((name, close[0] if close else None))
    return out


def warning_line(name: str, suggestion: str | None) -> str:
    hint = f"did you mean {suggestion}?" if suggestion else "see the README's settings list"
    return f"warning: {name} is not a q2c setting and is ignored ({hint})"


def warn_unknown_variables(environ: Mapping[str, str]) -> None:
    """One warning line on stderr per unknown `Q2C_*` variable."""
    for name, suggestion in unknown_variables(environ):
        typer.echo(warning_line(name, suggestion), err=True)
