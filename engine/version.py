"""The installed q2c version, from the package metadata (pyproject.toml is its only source)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    """The installed distribution's version, e.g. `0.1.0`."""
    try:
        return version("q2c")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "unknown (not installed)"
