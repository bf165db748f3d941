"""Optional extras: commands that need one check for it and name the `pip install` that fixes it."""

from __future__ import annotations

from importlib.util import find_spec

import typer


def require_extra(extra: str, command: str, *modules: str) -> None:
    """Exit 2 with one line when any of `modules` is not importable (the extra is not installed)."""
    missing = [m for m in modules if find_spec(m) is None]
    if missing:
        typer.echo(
            f"q2c {command} needs {', '.join(missing)}: pip install 'q2c[{extra}]'", err=True
        )
        raise typer.Exit(2)
